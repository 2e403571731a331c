#ifndef SOCKSGATE_ERRORS_H
#define SOCKSGATE_ERRORS_H

#include <node_api.h>
#include <stdbool.h>

/* Throws Error("<syscall> <CODE> (<strerror>)") with code, errno and syscall set. Returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/* Throw a TypeError (ERR_INVALID_ARG_TYPE) / RangeError (ERR_OUT_OF_RANGE). Return NULL. */
napi_value throw_type(napi_env env, const char *message);
napi_value throw_range(napi_env env, const char *message);

/* Closes fd without clobbering errno; returns NULL after throwing for `syscall`. */
napi_value close_and_throw(napi_env env, int fd, int err, const char *syscall);

/* Returns NULL from a Node-API entry point when `call` fails, with an exception pending. */
#define CHECK_NAPI(call)                                                     \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      bool pending_ = false;                                                 \
      napi_is_exception_pending(env, &pending_);                             \
      if (!pending_) napi_throw_error(env, "ERR_NAPI", "Node-API call failed"); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

#endif
