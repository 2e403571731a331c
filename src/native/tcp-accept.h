#ifndef SOCKSGATE_TCP_ACCEPT_H
#define SOCKSGATE_TCP_ACCEPT_H

#include <node_api.h>

/* tcpAccept, tcpAcceptClose (see tcp-accept.c). */
napi_value TcpAccept(napi_env env, napi_callback_info info);
napi_value TcpAcceptClose(napi_env env, napi_callback_info info);

#endif
