/*
 * Values across the JavaScript boundary of the socket calls: reading their arguments (each getter
 * returns false after throwing a TypeError or RangeError that names the argument) and handing a new
 * fd back.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#include "args.h"
#include "errors.h"
#include "sockets.h"

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_NAPI", "napi_get_cb_info failed");
    return false;
  }
  if (argc < want) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "missing arguments");
    return false;
  }
  return true;
}

bool get_int(napi_env env, napi_value v, const char *what, int64_t lo, int64_t hi, int64_t *out) {
  napi_valuetype type;
  double d;
  char message[96];
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a number", what);
    throw_type(env, message);
    return false;
  }
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) {
    snprintf(message, sizeof message, "%s must be an integer in [%lld, %lld]", what,
             (long long)lo, (long long)hi);
    throw_range(env, message);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

bool get_bool(napi_env env, napi_value v, const char *what, bool *out) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_boolean ||
      napi_get_value_bool(env, v, out) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a boolean", what);
    throw_type(env, message);
    return false;
  }
  return true;
}

/* Optional property of an options object: *present is false when it is undefined. */
static bool opt_prop(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present) {
  napi_valuetype type;
  if (napi_get_named_property(env, obj, key, out) != napi_ok ||
      napi_typeof(env, *out, &type) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending); /* e.g. a throwing getter */
    if (!pending) napi_throw_error(env, "ERR_NAPI", "reading an option failed");
    return false;
  }
  *present = type != napi_undefined;
  return true;
}

bool opt_bool(napi_env env, napi_value obj, const char *key, const char *what, bool *out) {
  napi_value v;
  bool present;
  return opt_prop(env, obj, key, &v, &present) && (!present || get_bool(env, v, what, out));
}

bool opt_int(napi_env env, napi_value obj, const char *key, const char *what, int64_t lo, int64_t hi, int64_t *out) {
  napi_value v;
  bool present;
  return opt_prop(env, obj, key, &v, &present) && (!present || get_int(env, v, what, lo, hi, out));
}

bool get_sockaddr(napi_env env, napi_value v, struct sockaddr_storage *ss, socklen_t *len) {
  bool is_buffer = false;
  void *data;
  size_t size;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, v, &data, &size) != napi_ok) {
    throw_type(env, "sockaddr must be a Buffer");
    return false;
  }
  if (size < sizeof(sa_family_t)) {
    throw_range(env, "sockaddr too short");
    return false;
  }
  memset(ss, 0, sizeof *ss);
  sa_family_t family;
  memcpy(&family, data, sizeof family);
  socklen_t want = family == AF_INET ? SOCKADDR_IN_LEN : family == AF_INET6 ? SOCKADDR_IN6_LEN : 0;
  if (want == 0) {
    throw_range(env, "sockaddr family must be AF_INET or AF_INET6");
    return false;
  }
  if (size != want) {
    throw_range(env, "sockaddr length does not match its family");
    return false;
  }
  memcpy(ss, data, want);
  *len = want;
  return true;
}

bool get_object(napi_env env, napi_value v, const char *what) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_object) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an object", what);
    throw_type(env, message);
    return false;
  }
  return true;
}

napi_value fd_value(napi_env env, int fd) {
  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    napi_throw_error(env, "ERR_NAPI", "napi_create_int32 failed");
    return NULL;
  }
  return result;
}

bool get_sockaddr_and_opts(napi_env env, napi_callback_info info, size_t want, napi_value *argv, struct sockaddr_storage *ss, socklen_t *len) {
  return get_args(env, info, want, argv) && get_sockaddr(env, argv[0], ss, len) && get_object(env, argv[1], "opts");
}
