#ifndef SOCKSGATE_TCP_DIAL_H
#define SOCKSGATE_TCP_DIAL_H

#include <node_api.h>

/* tcpDial, tcpDialSend, tcpDialSplice, tcpDialBound, tcpDialAbort (see tcp-dial.c). */
napi_value TcpDial(napi_env env, napi_callback_info info);
napi_value TcpDialSend(napi_env env, napi_callback_info info);
napi_value TcpDialSplice(napi_env env, napi_callback_info info);
napi_value TcpDialBound(napi_env env, napi_callback_info info);
napi_value TcpDialAbort(napi_env env, napi_callback_info info);

/* Makes tcpDialReceived, the Buffer every dial's DIAL_DATA fills, once for the module; NULL after throwing. */
napi_value tcp_dial_received(napi_env env);

#endif
