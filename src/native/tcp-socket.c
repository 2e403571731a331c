/*
 * The synchronous TCP socket calls: each makes or inspects one socket and returns an fd (Node takes
 * it with net.Server#listen({ fd }) / new net.Socket({ fd })) or raw sockaddr bytes.
 *
 *   originalDst(fd, ipv6)            -> Buffer   raw sockaddr_in (16) / sockaddr_in6 (28)
 *   tcpListen(sockaddr, opts)        -> fd       listening, nonblocking, cloexec, TCP_NODELAY
 *   tcpSocket(family, mark)          -> fd       unconnected, nonblocking, cloexec, SO_MARK, TCP_NODELAY
 *   tcpConnect(sockaddr, mark)       -> fd       connect() started (EINPROGRESS), SO_MARK
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <node_api.h>

#include "args.h"
#include "errors.h"
#include "sockets.h"
#include "tcp-socket.h"

/* ---- originalDst(fd, ipv6) ----------------------------------------------------------------- */

napi_value OriginalDst(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd;
  bool ipv6;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) ||
      !get_bool(env, argv[1], "ipv6", &ipv6)) {
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t len;
  int err = original_dst((int)fd, ipv6, &ss, &len);
  if (err != 0) return throw_errno(env, err, ipv6 ? "getsockopt(IP6T_SO_ORIGINAL_DST)" : "getsockopt(SO_ORIGINAL_DST)");

  napi_value result;
  CHECK_NAPI(napi_create_buffer_copy(env, len, &ss, NULL, &result));
  return result;
}

/* ---- tcpListen(sockaddr, { transparent, reusePort, backlog, v6only? }) ---------------------- */

napi_value TcpListen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_sockaddr_and_opts(env, info, 2, argv, &ss, &len)) return NULL;
  bool transparent = false, reuse_port = false, v6only = false;
  int64_t backlog = 511;
  if (!opt_bool(env, argv[1], "transparent", "opts.transparent", &transparent) ||
      !opt_bool(env, argv[1], "reusePort", "opts.reusePort", &reuse_port) ||
      !opt_int(env, argv[1], "backlog", "opts.backlog", 0, INT32_MAX, &backlog) ||
      !opt_bool(env, argv[1], "v6only", "opts.v6only", &v6only)) {
    return NULL;
  }

  int fd = listener_socket(env, ss.ss_family, SOCK_STREAM, reuse_port, v6only, transparent);
  if (fd < 0) return NULL;
  /* Accepted sockets inherit it on Linux: relayed small writes go out at once, without a
     setsockopt per connection. */
  if (set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(TCP_NODELAY)");
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) return close_and_throw(env, fd, errno, "bind");
  if (listen(fd, (int)backlog) != 0) return close_and_throw(env, fd, errno, "listen");
  return fd_value(env, fd);
}

/* ---- tcpSocket(family, mark) / tcpConnect(sockaddr, mark) --------------------------------- */

napi_value TcpSocket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t family, mark;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "family", 4, 6, &family) ||
      !get_int(env, argv[1], "mark", 0, UINT32_MAX, &mark)) {
    return NULL;
  }
  if (family != 4 && family != 6) return throw_range(env, "family must be 4 or 6");
  int fd = marked_socket(env, family == 4 ? AF_INET : AF_INET6, (uint32_t)mark);
  return fd < 0 ? NULL : fd_value(env, fd);
}

napi_value TcpConnect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  int64_t mark;
  if (!get_args(env, info, 2, argv) || !get_sockaddr(env, argv[0], &ss, &len) ||
      !get_int(env, argv[1], "mark", 0, UINT32_MAX, &mark)) {
    return NULL;
  }
  int fd = marked_socket(env, ss.ss_family, (uint32_t)mark);
  if (fd < 0) return NULL;
  if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
    return close_and_throw(env, fd, errno, "connect");
  return fd_value(env, fd);
}
