#ifndef SOCKSGATE_UNIX_SOCKET_H
#define SOCKSGATE_UNIX_SOCKET_H

#include <node_api.h>

/* unixListen, unixAnswers (see unix-socket.c). */
napi_value UnixListen(napi_env env, napi_callback_info info);
napi_value UnixAnswers(napi_env env, napi_callback_info info);

#endif
