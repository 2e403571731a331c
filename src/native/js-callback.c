/* Calling JavaScript from the event loop (see js-callback.h). */
#include <stdbool.h>

#include <node_api.h>

#include "js-callback.h"

static napi_async_context async_context;

bool addon_async_context_init(napi_env env) {
  napi_value name;
  if (napi_create_string_utf8(env, "socksgate.native", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &async_context) != napi_ok) {
    napi_throw_error(env, "ERR_NAPI", "napi_async_init failed");
    return false;
  }
  return true;
}

napi_async_context addon_async_context(void) {
  return async_context;
}

bool js_returned(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  bool pending = false;
  napi_value exception;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &exception) == napi_ok)
    napi_fatal_exception(env, exception);
  return false;
}

bool call_js(napi_env env, napi_async_context async, napi_value fn, size_t argc, const napi_value *argv) {
  napi_value recv, ignored;
  napi_status status = napi_get_global(env, &recv); /* napi_make_callback wants an object as `this` */
  if (status == napi_ok) status = napi_make_callback(env, async, recv, fn, argc, argv, &ignored);
  return js_returned(env, status);
}
