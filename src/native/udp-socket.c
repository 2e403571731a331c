/*
 * A bound, nonblocking UDP socket for dgram's bind({ fd }). Transparent + reuseAddr + a foreign
 * address makes a TPROXY reply socket (it sends with the remote's address as source); mark alone
 * on a wildcard address makes a socket for talking to an upstream relay past the firewall rules.
 *
 *   udpSocket(sockaddr, { transparent?, reuseAddr?, mark? }) -> fd
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <node_api.h>

#include "args.h"
#include "errors.h"
#include "sockets.h"
#include "udp-socket.h"

napi_value UdpSocket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_sockaddr_and_opts(env, info, 2, argv, &ss, &len)) return NULL;
  bool transparent = false, reuse_addr = false;
  int64_t mark = 0;
  if (!opt_bool(env, argv[1], "transparent", "opts.transparent", &transparent) ||
      !opt_bool(env, argv[1], "reuseAddr", "opts.reuseAddr", &reuse_addr) ||
      !opt_int(env, argv[1], "mark", "opts.mark", 0, UINT32_MAX, &mark)) {
    return NULL;
  }
  int family = ss.ss_family;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return throw_errno(env, errno, "socket");
  uint32_t mark32 = (uint32_t)mark;
  if (reuse_addr && set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(SO_REUSEADDR)");
  if (mark32 != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark32, sizeof mark32) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(SO_MARK)");
  const char *failed = transparent ? set_transparent(fd, family, true) : NULL;
  if (failed != NULL) return close_and_throw(env, fd, errno, failed);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) return close_and_throw(env, fd, errno, "bind");
  return fd_value(env, fd);
}
