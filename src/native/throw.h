#ifndef SOCKSGATE_THROW_H
#define SOCKSGATE_THROW_H

#include <node_api.h>

/* Throws Error("<syscall> <CODE> (<strerror>)") with code, errno and syscall set. Returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

#endif
