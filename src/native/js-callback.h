#ifndef SOCKSGATE_JS_CALLBACK_H
#define SOCKSGATE_JS_CALLBACK_H

#include <node_api.h>
#include <stdbool.h>

/*
 * The async context every per-connection callback (dial events, relay ends) runs in: one for the
 * module, not one per connection, which would cost two global handles and an object per flow.
 * Made once by the module's Init; false after throwing.
 */
bool addon_async_context_init(napi_env env);
napi_async_context addon_async_context(void);

#endif
