/* JS handles to native objects that end before the handle is collected (see handle-box.h). */
#include <stdbool.h>
#include <stdlib.h>

#include <node_api.h>

#include "handle-box.h"

static void handle_box_finalize(napi_env env, void *data, void *hint) {
  handle_box *box = data;
  if (box->back != NULL) *box->back = NULL;
  free(box);
}

napi_value handle_box_new(napi_env env, void *target, handle_box **slot) {
  napi_value external;
  handle_box *box = malloc(sizeof *box);
  if (box == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  box->target = target;
  box->back = slot;
  if (napi_create_external(env, box, handle_box_finalize, NULL, &external) != napi_ok) {
    free(box);
    napi_throw_error(env, "ERR_NAPI", "napi_create_external failed");
    return NULL;
  }
  *slot = box;
  return external;
}

void handle_box_detach(handle_box *box) {
  if (box == NULL) return;
  box->target = NULL;
  box->back = NULL;
}

void *handle_box_target(napi_env env, napi_value value, bool *ok) {
  void *data;
  napi_valuetype type;
  *ok = napi_typeof(env, value, &type) == napi_ok && type == napi_external && napi_get_value_external(env, value, &data) == napi_ok;
  if (!*ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a handle from the addon");
    return NULL;
  }
  return ((handle_box *)data)->target;
}
