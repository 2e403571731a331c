/*
 * socksgate native boundary: the few socket calls Node cannot make.
 *
 * Node-API only, no policy. Every function takes raw fds / raw sockaddr bytes and returns fds /
 * raw sockaddr bytes; TypeScript (src/codec/sockaddr.ts, src/native/index.ts) does the rest.
 * A failed syscall throws an Error with `code` (errno name, e.g. "EPERM"), `errno` (number) and
 * `syscall` (e.g. "setsockopt(SO_MARK)"). Every fd created here is closed on every failure path.
 *
 *   originalDst(fd, ipv6)            -> Buffer   raw sockaddr_in (16) / sockaddr_in6 (28)
 *   tcpListen(sockaddr, opts)        -> fd       listening, nonblocking, cloexec, TCP_NODELAY
 *   tcpSocket(family, mark)          -> fd       unconnected, nonblocking, cloexec, SO_MARK, TCP_NODELAY
 *   tcpConnect(sockaddr, mark)       -> fd       connect() started (EINPROGRESS), SO_MARK
 *   closeFd(fd)                      -> undefined
 *   raiseNofile()                    -> { soft, hard }  RLIMIT_NOFILE soft limit raised to hard
 *   udpSocket(sockaddr, opts)        -> fd       bound UDP socket: transparent?, reuseAddr?, mark
 *   udpListen(sockaddr, opts, cb)    -> handle   transparent UDP receiver (see udp_listener below)
 *   udpListenClose(handle)           -> undefined
 *   spliceRelay(…), spliceRelayStop(handle)        see splice.c
 *   tcpAccept(…), tcpAcceptClose(handle)            see tcp-accept.c
 *   tcpDial(…), tcpDialSend/Splice/Abort(handle, …) see tcp-dial.c
 *   reduceHeap(), trimMalloc()                      see memory.cc
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "splice.h"
#include "tcp-accept.h"
#include "tcp-dial.h"
#include "memory.h"
#include "addon.h"

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
#ifndef SO_MARK
#define SO_MARK 36
#endif
#ifndef SO_REUSEPORT
#define SO_REUSEPORT 15
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR IP_RECVORIGDSTADDR
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
#endif

#define SOCKADDR_IN_LEN ((socklen_t)sizeof(struct sockaddr_in))   /* 16 */
#define SOCKADDR_IN6_LEN ((socklen_t)sizeof(struct sockaddr_in6)) /* 28 */

/* ---- errors ------------------------------------------------------------------------------ */

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

/* Throws Error("<syscall> <CODE> (<strerror>)") with code, errno and syscall set. Returns NULL. */
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

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

/* Closes fd without clobbering errno; returns NULL after throwing for `syscall`. */
static napi_value close_and_throw(napi_env env, int fd, int err, const char *syscall) {
  close(fd);
  return throw_errno(env, err, syscall);
}

/* ---- argument helpers (return false after throwing) ---------------------------------------- */

#define CHECK_NAPI(call)                                                     \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      bool pending_ = false;                                                 \
      napi_is_exception_pending(env, &pending_);                             \
      if (!pending_) napi_throw_error(env, "ERR_NAPI", "Node-API call failed"); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
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

static bool get_int(napi_env env, napi_value v, const char *what, int64_t lo, int64_t hi,
                    int64_t *out) {
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

static bool get_bool(napi_env env, napi_value v, const char *what, bool *out) {
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

static bool opt_bool(napi_env env, napi_value obj, const char *key, const char *what, bool *out) {
  napi_value v;
  bool present;
  return opt_prop(env, obj, key, &v, &present) && (!present || get_bool(env, v, what, out));
}

static bool opt_int(napi_env env, napi_value obj, const char *key, const char *what, int64_t lo,
                    int64_t hi, int64_t *out) {
  napi_value v;
  bool present;
  return opt_prop(env, obj, key, &v, &present) && (!present || get_int(env, v, what, lo, hi, out));
}

/* Copies a Buffer holding a sockaddr_in (16 bytes) or sockaddr_in6 (28 bytes). */
static bool get_sockaddr(napi_env env, napi_value v, struct sockaddr_storage *ss, socklen_t *len) {
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

static int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value);
}

/* ---- originalDst(fd, ipv6) ----------------------------------------------------------------- */

int original_dst(int fd, bool ipv6, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  *len = ipv6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN;
  int rc = ipv6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, len) : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ss, len);
  return rc == 0 ? 0 : errno;
}

static napi_value OriginalDst(napi_env env, napi_callback_info info) {
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

/* Returns the option that failed, or NULL. A dual-stack AF_INET6 socket needs both options. */
static const char *set_transparent(int fd, int family, bool v6only) {
  if ((family == AF_INET || !v6only) && set_int_opt(fd, SOL_IP, IP_TRANSPARENT, 1) != 0)
    return "setsockopt(IP_TRANSPARENT)";
  if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) != 0)
    return "setsockopt(IPV6_TRANSPARENT)";
  return NULL;
}

static bool get_object(napi_env env, napi_value v, const char *what) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_object) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an object", what);
    throw_type(env, message);
    return false;
  }
  return true;
}

/* Hands a new fd to JavaScript; closes it if even that fails, so nothing leaks. */
static napi_value fd_value(napi_env env, int fd) {
  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    napi_throw_error(env, "ERR_NAPI", "napi_create_int32 failed");
    return NULL;
  }
  return result;
}

/* ---- tcpListen(sockaddr, { transparent, reusePort, backlog, v6only? }) ---------------------- */

/*
 * A nonblocking cloexec socket for a listener (TCP or UDP, not bound yet): SO_REUSEADDR,
 * SO_REUSEPORT when several workers share the address, IPV6_V6ONLY as asked, and the transparent
 * options when asked. Returns -1 after throwing.
 */
static int listener_socket(napi_env env, int family, int type, bool reuse_port, bool v6only, bool transparent) {
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

static napi_value TcpListen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_args(env, info, 2, argv) || !get_sockaddr(env, argv[0], &ss, &len) ||
      !get_object(env, argv[1], "opts")) {
    return NULL;
  }
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

/* Returns a nonblocking cloexec TCP socket with SO_MARK (unless mark is 0) and TCP_NODELAY (set
   before connect, it costs no work on the connection), or -1 after throwing. */
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

static napi_value TcpSocket(napi_env env, napi_callback_info info) {
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

static napi_value TcpConnect(napi_env env, napi_callback_info info) {
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

/* ---- closeFd(fd) --------------------------------------------------------------------------- */

static napi_value CloseFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  /* Linux releases the fd even when close() reports EINTR: never retry. */
  if (close((int)fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

/* ---- raiseNofile() ------------------------------------------------------------------------ */

static napi_value rlim_value(napi_env env, rlim_t v) {
  napi_value out = NULL;
  napi_create_double(env, v == RLIM_INFINITY ? 1.0 / 0.0 : (double)v, &out);
  return out;
}

static napi_value RaiseNofile(napi_env env, napi_callback_info info) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return throw_errno(env, errno, "getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur < lim.rlim_max) {
    struct rlimit raised = {lim.rlim_max, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
      return throw_errno(env, errno, "setrlimit(RLIMIT_NOFILE)");
    lim = raised;
  }
  napi_value result, soft, hard;
  CHECK_NAPI(napi_create_object(env, &result));
  if ((soft = rlim_value(env, lim.rlim_cur)) == NULL || (hard = rlim_value(env, lim.rlim_max)) == NULL) {
    napi_throw_error(env, "ERR_NAPI", "napi_create_double failed");
    return NULL;
  }
  CHECK_NAPI(napi_set_named_property(env, result, "soft", soft));
  CHECK_NAPI(napi_set_named_property(env, result, "hard", hard));
  return result;
}

/* ---- udpSocket(sockaddr, { transparent, reuseAddr, mark }) ---------------------------------- */

/*
 * A bound, nonblocking UDP socket for dgram's bind({ fd }). Transparent + reuseAddr + a foreign
 * address makes a TPROXY reply socket (it sends with the remote's address as source); mark alone
 * on a wildcard address makes a socket for talking to an upstream relay past the firewall rules.
 */
static napi_value UdpSocket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_args(env, info, 2, argv) || !get_sockaddr(env, argv[0], &ss, &len) ||
      !get_object(env, argv[1], "opts")) {
    return NULL;
  }
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

/* ---- udpListen(sockaddr, { headroom, v6only, reusePort }, cb) / udpListenClose(handle) ------------------ */

/*
 * A transparent UDP socket read with recvmmsg on a uv_poll_t of the main loop. Each batch calls
 *   cb(null, payloads: Buffer[], addrs: Buffer)
 * where payloads[i] holds `headroom` unused bytes and then datagram i (room to write a SOCKS5
 * UDP header in front without copying), and addrs holds UDP_ADDR_PAIR bytes per datagram: the
 * client's sockaddr, then the original destination's (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR), each
 * in a 28-byte slot (a sockaddr_in is zero-padded; family 0 means the kernel gave none).
 * A failed read calls cb(error) and polling goes on.
 */
#define UDP_BATCH 16
#define UDP_SLOT 65536 /* any UDP payload fits, so nothing is ever truncated */
#define UDP_ROUNDS 8   /* batches per wake-up: one busy socket must not starve the loop */
#define UDP_ADDR_SLOT 28
#define UDP_ADDR_PAIR (2 * UDP_ADDR_SLOT)
#define UDP_MAX_HEADROOM 1024

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  uint32_t headroom;
  bool closing;      /* polling stopped, fd closed (or closing) */
  bool poll_closed;  /* libuv is done with `poll` */
  bool finalized;    /* the JS handle is gone */
  unsigned char *arena;
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  struct sockaddr_storage peers[UDP_BATCH];
  union {
    struct cmsghdr align;
    char buf[2 * CMSG_SPACE(sizeof(struct sockaddr_in6))];
  } ctrl[UDP_BATCH];
} udp_listener;

static void listener_free_if_done(udp_listener *l) {
  if (!l->poll_closed || !l->finalized) return;
  free(l->arena);
  free(l);
}

static void on_poll_closed(uv_handle_t *handle) {
  udp_listener *l = handle->data;
  close(l->fd);
  l->poll_closed = true;
  listener_free_if_done(l);
}

/* Stops polling for good. Safe to call twice and from inside the callback. */
static void listener_close(udp_listener *l) {
  if (l->closing) return;
  l->closing = true;
  uv_poll_stop(&l->poll);
  uv_close((uv_handle_t *)&l->poll, on_poll_closed);
  napi_delete_reference(l->env, l->callback);
  napi_async_destroy(l->env, l->async);
}

static void listener_finalize(napi_env env, void *data, void *hint) {
  udp_listener *l = data;
  listener_close(l);
  l->finalized = true;
  listener_free_if_done(l);
}

/* Calls the JS callback; an exception it throws becomes an uncaught exception, as for any event. */
static void listener_call(udp_listener *l, size_t argc, napi_value *argv) {
  napi_env env = l->env;
  napi_value fn, recv, ignored;
  if (napi_get_reference_value(env, l->callback, &fn) != napi_ok || fn == NULL ||
      napi_get_global(env, &recv) != napi_ok) {
    return;
  }
  if (napi_make_callback(env, l->async, recv, fn, argc, argv, &ignored) == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok)
      napi_fatal_exception(env, exception);
  }
}

static void listener_error(udp_listener *l, int err, const char *syscall) {
  napi_env env = l->env;
  napi_value exception;
  throw_errno(env, err, syscall); /* builds the usual Error; take it back instead of throwing */
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) return;
  listener_call(l, 1, &exception);
}

static void copy_origdst(struct msghdr *msg, unsigned char *out) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    size_t want = c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR       ? SOCKADDR_IN_LEN
                  : c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR ? SOCKADDR_IN6_LEN
                                                                                   : 0;
    if (want != 0 && c->cmsg_len >= CMSG_LEN(want)) {
      memcpy(out, CMSG_DATA(c), want);
      return;
    }
  }
}

/* Hands `count` received datagrams to JS; false when the batch could not be built. */
static bool listener_deliver(udp_listener *l, int count) {
  napi_env env = l->env;
  napi_value payloads, addrs, null_v;
  void *addr_data;
  if (napi_create_array_with_length(env, (size_t)count, &payloads) != napi_ok ||
      napi_create_buffer(env, (size_t)count * UDP_ADDR_PAIR, &addr_data, &addrs) != napi_ok ||
      napi_get_null(env, &null_v) != napi_ok) {
    return false;
  }
  memset(addr_data, 0, (size_t)count * UDP_ADDR_PAIR);
  for (int i = 0; i < count; i++) {
    struct msghdr *msg = &l->msgs[i].msg_hdr;
    size_t len = l->msgs[i].msg_len;
    void *data;
    napi_value payload;
    if (napi_create_buffer(env, l->headroom + len, &data, &payload) != napi_ok ||
        napi_set_element(env, payloads, (uint32_t)i, payload) != napi_ok) {
      return false;
    }
    memcpy((unsigned char *)data + l->headroom, l->arena + (size_t)i * UDP_SLOT, len);
    unsigned char *pair = (unsigned char *)addr_data + (size_t)i * UDP_ADDR_PAIR;
    socklen_t peer_len = msg->msg_namelen < UDP_ADDR_SLOT ? msg->msg_namelen : UDP_ADDR_SLOT;
    memcpy(pair, &l->peers[i], peer_len);
    copy_origdst(msg, pair + UDP_ADDR_SLOT);
  }
  napi_value argv[3] = {null_v, payloads, addrs};
  listener_call(l, 3, argv);
  return true;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  udp_listener *l = handle->data;
  napi_env env = l->env;
  for (int round = 0; round < UDP_ROUNDS && !l->closing; round++) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    int n = -1, err = 0;
    if (status < 0) {
      err = -status;
    } else {
      for (int i = 0; i < UDP_BATCH; i++) {
        l->iov[i] = (struct iovec){l->arena + (size_t)i * UDP_SLOT, UDP_SLOT};
        l->msgs[i].msg_hdr = (struct msghdr){
            .msg_name = &l->peers[i],
            .msg_namelen = sizeof l->peers[i],
            .msg_iov = &l->iov[i],
            .msg_iovlen = 1,
            .msg_control = l->ctrl[i].buf,
            .msg_controllen = sizeof l->ctrl[i].buf,
        };
        l->msgs[i].msg_len = 0;
      }
      n = recvmmsg(l->fd, l->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
      if (n < 0) err = errno;
    }
    bool more = false;
    if (status < 0) listener_error(l, err, "uv_poll");
    else if (n < 0 && err != EAGAIN && err != EWOULDBLOCK && err != EINTR) listener_error(l, err, "recvmmsg");
    else if (n > 0) more = listener_deliver(l, n) && n == UDP_BATCH;
    napi_close_handle_scope(env, scope);
    if (!more) return;
  }
}

static napi_value UdpListen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct sockaddr_storage ss;
  socklen_t len;
  napi_valuetype type;
  if (!get_args(env, info, 3, argv) || !get_sockaddr(env, argv[0], &ss, &len) ||
      !get_object(env, argv[1], "opts")) {
    return NULL;
  }
  CHECK_NAPI(napi_typeof(env, argv[2], &type));
  if (type != napi_function) return throw_type(env, "callback must be a function");
  int64_t headroom = 0;
  bool v6only = false, reuse_port = false;
  if (!opt_int(env, argv[1], "headroom", "opts.headroom", 0, UDP_MAX_HEADROOM, &headroom) ||
      !opt_bool(env, argv[1], "v6only", "opts.v6only", &v6only) ||
      !opt_bool(env, argv[1], "reusePort", "opts.reusePort", &reuse_port)) {
    return NULL;
  }
  uv_loop_t *loop;
  CHECK_NAPI(napi_get_uv_event_loop(env, &loop));

  int family = ss.ss_family;
  /* With several workers on one address the kernel hashes each datagram by 4-tuple. */
  int fd = listener_socket(env, family, SOCK_DGRAM, reuse_port, v6only, true);
  if (fd < 0) return NULL;
  if ((family == AF_INET || !v6only) && set_int_opt(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(IP_RECVORIGDSTADDR)");
  if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(IPV6_RECVORIGDSTADDR)");
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) return close_and_throw(env, fd, errno, "bind");

  udp_listener *l = calloc(1, sizeof *l);
  unsigned char *arena = malloc((size_t)UDP_BATCH * UDP_SLOT);
  if (l == NULL || arena == NULL) {
    free(l);
    free(arena);
    return close_and_throw(env, fd, ENOMEM, "malloc");
  }
  l->env = env;
  l->fd = fd;
  l->headroom = (uint32_t)headroom;
  l->arena = arena;
  l->poll.data = l;
  napi_value resource_name, handle;
  int uv_err;
  if (napi_create_string_utf8(env, "socksgate:udpListen", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &l->callback) != napi_ok) {
    goto napi_failed;
  }
  if (napi_async_init(env, NULL, resource_name, &l->async) != napi_ok) {
    napi_delete_reference(env, l->callback);
    goto napi_failed;
  }
  if ((uv_err = uv_poll_init(loop, &l->poll, fd)) != 0) {
    napi_delete_reference(env, l->callback);
    napi_async_destroy(env, l->async);
    free(arena);
    free(l);
    return close_and_throw(env, fd, -uv_err, "uv_poll_init");
  }
  /* From here on the poll handle owns fd and l: every exit goes through listener_close. */
  if ((uv_err = uv_poll_start(&l->poll, UV_READABLE, on_readable)) != 0) {
    listener_close(l);
    l->finalized = true;
    return throw_errno(env, -uv_err, "uv_poll_start");
  }
  if (napi_create_external(env, l, listener_finalize, NULL, &handle) != napi_ok) {
    listener_close(l);
    l->finalized = true;
    napi_throw_error(env, "ERR_NAPI", "napi_create_external failed");
    return NULL;
  }
  return handle;

napi_failed:
  free(arena);
  free(l);
  close(fd);
  napi_throw_error(env, "ERR_NAPI", "Node-API call failed");
  return NULL;
}

static napi_value UdpListenClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype type;
  void *data;
  if (!get_args(env, info, 1, argv)) return NULL;
  CHECK_NAPI(napi_typeof(env, argv[0], &type));
  if (type != napi_external) return throw_type(env, "handle must come from udpListen");
  CHECK_NAPI(napi_get_value_external(env, argv[0], &data));
  listener_close((udp_listener *)data);
  return NULL;
}

/* ---- polling (see addon.h) ---------------------------------------------------------------- */

void poll_events(uv_poll_t *poll, int *current, int events, uv_poll_cb cb) {
  if (events == *current) return;
  *current = events;
  if (events == 0) uv_poll_stop(poll);
  else uv_poll_start(poll, events, cb);
}

/* ---- handles to native objects (see addon.h) ----------------------------------------------- */

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

/* ---- module ------------------------------------------------------------------------------- */

static napi_async_context async_context;

napi_async_context addon_async_context(void) {
  return async_context;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value name;
  if (napi_create_string_utf8(env, "socksgate.native", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &async_context) != napi_ok) {
    napi_throw_error(env, "ERR_NAPI", "napi_async_init failed");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"originalDst", NULL, OriginalDst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpListen", NULL, TcpListen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpSocket", NULL, TcpSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnect", NULL, TcpConnect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raiseNofile", NULL, RaiseNofile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpSocket", NULL, UdpSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpListen", NULL, UdpListen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"udpListenClose", NULL, UdpListenClose, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok ||
      !splice_register(env, exports) || !tcp_accept_register(env, exports) || !tcp_dial_register(env, exports) ||
      !memory_register(env, exports)) {
    napi_throw_error(env, "ERR_NAPI", "napi_define_properties failed");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
