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

/*
 * Calls fn(...argv) as an event of the loop: napi_make_callback in `async`, the global as `this`.
 * An exception fn throws is reported at once as an uncaught exception ('uncaughtException', or the
 * process ends), as Node reports one thrown by any event listener. Left pending it would stay in
 * the env: the next callback would not run and some unrelated JS call into the addon would throw it.
 * Returns false when fn did not return normally; what it was handed is then the caller's again.
 */
bool call_js(napi_env env, napi_async_context async, napi_value fn, size_t argc, const napi_value *argv);

/* The same report for a call the caller made itself (napi_call_function inside its own callback
   scope); returns whether `status` is napi_ok. */
bool js_returned(napi_env env, napi_status status);

#endif
