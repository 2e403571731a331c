#ifndef SOCKSGATE_TCP_ACCEPT_H
#define SOCKSGATE_TCP_ACCEPT_H

#include <node_api.h>
#include <stdbool.h>

/* Adds tcpAccept* (see tcp-accept.c) to the module's exports. */
bool tcp_accept_register(napi_env env, napi_value exports);

#endif
