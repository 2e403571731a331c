#ifndef SOCKSGATE_CLIENT_READ_H
#define SOCKSGATE_CLIENT_READ_H

#include <node_api.h>

/* clientReadInit, clientRead, clientReadStop, clientSend, clientReset (see client-read.c). */
napi_value ClientReadInit(napi_env env, napi_callback_info info);
napi_value ClientRead(napi_env env, napi_callback_info info);
napi_value ClientReadStop(napi_env env, napi_callback_info info);
napi_value ClientSend(napi_env env, napi_callback_info info);
napi_value ClientReset(napi_env env, napi_callback_info info);

/* Makes clientReadReceived, the Buffer every reader's READ_DATA fills, once for the module; NULL after throwing. */
napi_value client_read_received(napi_env env);

#endif
