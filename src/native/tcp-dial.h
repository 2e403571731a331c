#ifndef SOCKSGATE_TCP_DIAL_H
#define SOCKSGATE_TCP_DIAL_H

#include <node_api.h>
#include <stdbool.h>

/* Adds tcpDial* (see tcp-dial.c) to the module's exports. */
bool tcp_dial_register(napi_env env, napi_value exports);

#endif
