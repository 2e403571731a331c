/*
 * Building the sockets the addon hands out, and reading where a diverted connection was headed:
 * the socket options Node cannot set (SO_MARK before connect, IP_TRANSPARENT, SO_ORIGINAL_DST).
 * Functions that take an env throw (and return -1) on failure; every fd they create is closed on
 * every failure path.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#include "errors.h"
#include "sockets.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv4.h> */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv6/ip6_tables.h> */
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef SO_REUSEPORT
#define SO_REUSEPORT 15
#endif

int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

int original_dst(int fd, bool ipv6, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  *len = ipv6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN;
  int rc = ipv6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, len) : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ss, len);
  return rc == 0 ? 0 : errno;
}

void reset_and_close(int fd) {
  struct linger abort_on_close = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  close(fd);
}

/* A dual-stack AF_INET6 socket needs both options. */
const char *set_transparent(int fd, int family, bool v6only) {
  if ((family == AF_INET || !v6only) && set_int_opt(fd, SOL_IP, IP_TRANSPARENT, 1) != 0)
    return "setsockopt(IP_TRANSPARENT)";
  if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) != 0)
    return "setsockopt(IPV6_TRANSPARENT)";
  return NULL;
}

int listener_socket(napi_env env, int family, int type, bool reuse_port, bool v6only, bool transparent) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return -1;
  }
  const char *failed = NULL;
  if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
    failed = "setsockopt(SO_REUSEADDR)";
  else if (reuse_port && set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0)
    failed = "setsockopt(SO_REUSEPORT)";
  else if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_V6ONLY, v6only ? 1 : 0) != 0)
    failed = "setsockopt(IPV6_V6ONLY)";
  else if (transparent)
    failed = set_transparent(fd, family, v6only);
  if (failed != NULL) {
    close_and_throw(env, fd, errno, failed);
    return -1;
  }
  return fd;
}

int marked_socket(napi_env env, int family, uint32_t mark) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return -1;
  }
  if (set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1) != 0) {
    close_and_throw(env, fd, errno, "setsockopt(TCP_NODELAY)");
    return -1;
  }
  if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    close_and_throw(env, fd, errno, "setsockopt(SO_MARK)");
    return -1;
  }
  return fd;
}
