/*
 * The control socket's unix socket, made here rather than by net.Server#listen: the daemon then
 * loads node:net (and the stream modules under it, ~1 MiB of idle RSS) only when a client first
 * connects, not at start. tcpAccept(fd, 2, …) accepts on it.
 *
 *   unixListen(path, backlog)  -> fd    listening, nonblocking, cloexec; bind(2) makes the file
 *                                       with the process umask, as listen(path) does
 *   unixAnswers(path)          -> bool  whether something accepts connections at path (a full
 *                                       backlog counts: a listener is there)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>

#include "args.h"
#include "errors.h"
#include "unix-socket.h"

/* Fills addr from the string argument; false after throwing (not a string, or too long for sun_path). */
static bool get_unix_path(napi_env env, napi_value v, struct sockaddr_un *addr) {
  size_t len;
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    throw_type(env, "path must be a string");
    return false;
  }
  if (len == 0 || len >= sizeof addr->sun_path) {
    throw_range(env, "path must be 1-107 bytes");
    return false;
  }
  napi_get_value_string_utf8(env, v, addr->sun_path, sizeof addr->sun_path, &len);
  return true;
}

napi_value UnixListen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_un addr;
  int64_t backlog;
  if (!get_args(env, info, 2, argv) || !get_unix_path(env, argv[0], &addr) ||
      !get_int(env, argv[1], "backlog", 0, INT32_MAX, &backlog)) {
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) return close_and_throw(env, fd, errno, "bind");
  if (listen(fd, (int)backlog) != 0) {
    int err = errno;
    unlink(addr.sun_path); /* bind made it: a failed listen leaves no file behind */
    return close_and_throw(env, fd, err, "listen");
  }
  return fd_value(env, fd);
}

napi_value UnixAnswers(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  struct sockaddr_un addr;
  if (!get_args(env, info, 1, argv) || !get_unix_path(env, argv[0], &addr)) return NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  /* A unix connect completes or fails at once; EAGAIN: the listener's backlog is full. */
  bool answers = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 || errno == EAGAIN;
  close(fd);
  CHECK_NAPI(napi_get_boolean(env, answers, &result));
  return result;
}
