/*
 * Errors thrown back to JavaScript. A failed syscall becomes an Error with `code` (errno name, e.g.
 * "EPERM"), `errno` (number) and `syscall` (e.g. "setsockopt(SO_MARK)"); a bad argument a TypeError
 * or RangeError with a Node-style code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <node_api.h>

#include "errors.h"

static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#else
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
  }
#endif
  return "EUNKNOWN";
}

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char message[192];
  const char *name = errno_name(err);
  snprintf(message, sizeof message, "%s %s (%s)", syscall, name, strerror(err));

  napi_value code_v, msg_v, errno_v, syscall_v, error;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_v) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg_v) != napi_ok ||
      napi_create_int32(env, err, &errno_v) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v) != napi_ok ||
      napi_create_error(env, code_v, msg_v, &error) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_v) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall_v) != napi_ok) {
    napi_throw_error(env, name, message); /* degraded, but still an Error with a code */
    return NULL;
  }
  napi_throw(env, error);
  return NULL;
}

napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

napi_value close_and_throw(napi_env env, int fd, int err, const char *syscall) {
  close(fd);
  return throw_errno(env, err, syscall);
}
