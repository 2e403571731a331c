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
