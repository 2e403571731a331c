#ifndef SOCKSGATE_ARGS_H
#define SOCKSGATE_ARGS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Each returns false after throwing. */

/* The first `want` arguments; a call with fewer throws ERR_MISSING_ARGS. */
bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* An integral number in [lo, hi]; `what` names it in the error. */
bool get_int(napi_env env, napi_value v, const char *what, int64_t lo, int64_t hi, int64_t *out);
bool get_bool(napi_env env, napi_value v, const char *what, bool *out);
bool get_object(napi_env env, napi_value v, const char *what);
/* Optional properties of an options object: *out is left as it is when the property is undefined. */
bool opt_bool(napi_env env, napi_value obj, const char *key, const char *what, bool *out);
bool opt_int(napi_env env, napi_value obj, const char *key, const char *what, int64_t lo, int64_t hi, int64_t *out);
/* Copies a Buffer holding a sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes). */
bool get_sockaddr(napi_env env, napi_value v, struct sockaddr_storage *ss, socklen_t *len);

/* The calls that make a socket: `want` arguments, a sockaddr Buffer first and an options object second. */
bool get_sockaddr_and_opts(napi_env env, napi_callback_info info, size_t want, napi_value *argv, struct sockaddr_storage *ss, socklen_t *len);

/* Hands a new fd to JavaScript; closes it if even that fails, so nothing leaks. NULL after throwing. */
napi_value fd_value(napi_env env, int fd);

#endif
