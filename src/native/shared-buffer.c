#include <stdio.h>

#include "shared-buffer.h"

napi_value shared_buffer(napi_env env, size_t size, unsigned char **data, const char *name) {
  napi_value buffer;
  napi_ref held; /* never released: the buffer lives as long as the module */
  if (napi_create_buffer(env, size, (void **)data, &buffer) != napi_ok || napi_create_reference(env, buffer, 1, &held) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s: Node-API call failed", name);
    napi_throw_error(env, "ERR_NAPI", message);
    return NULL;
  }
  return buffer;
}
