#ifndef SOCKSGATE_SPLICE_H
#define SOCKSGATE_SPLICE_H

#include <node_api.h>
#include <stdbool.h>

/* Adds spliceRelay and spliceRelayStop to the module's exports. */
bool splice_register(napi_env env, napi_value exports);

#endif
