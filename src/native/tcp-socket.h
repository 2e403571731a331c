#ifndef SOCKSGATE_TCP_SOCKET_H
#define SOCKSGATE_TCP_SOCKET_H

#include <node_api.h>

/* originalDst, tcpListen, tcpSocket, tcpConnect (see tcp-socket.c). */
napi_value OriginalDst(napi_env env, napi_callback_info info);
napi_value TcpListen(napi_env env, napi_callback_info info);
napi_value TcpSocket(napi_env env, napi_callback_info info);
napi_value TcpConnect(napi_env env, napi_callback_info info);

#endif
