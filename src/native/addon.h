#ifndef SOCKSGATE_ADDON_H
#define SOCKSGATE_ADDON_H

#include <node_api.h>

/* Throws Error("<syscall> <CODE> (<strerror>)") with code, errno and syscall set. Returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/*
 * The async context every per-connection callback (dial events, relay ends) runs in: one for the
 * module, not one per connection, which would cost two global handles and an object per flow.
 */
napi_async_context addon_async_context(void);

#endif
