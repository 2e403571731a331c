#ifndef SOCKSGATE_FDS_H
#define SOCKSGATE_FDS_H

#include <node_api.h>

/* closeFd, raiseNofile (see fds.c). */
napi_value CloseFd(napi_env env, napi_callback_info info);
napi_value RaiseNofile(napi_env env, napi_callback_info info);

#endif
