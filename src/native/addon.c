/*
 * socksgate native boundary: the few socket calls Node cannot make.
 *
 * Node-API only, no policy. Every function takes raw fds / raw sockaddr bytes and returns fds /
 * raw sockaddr bytes; TypeScript (src/codec/sockaddr.ts, src/native/index.ts) does the rest.
 * A failed syscall throws an Error with `code` (errno name, e.g. "EPERM"), `errno` (number) and
 * `syscall` (e.g. "setsockopt(SO_MARK)"). Every fd created here is closed on every failure path.
 *
 *   originalDst(fd, ipv6)            -> Buffer   raw sockaddr_in (16) / sockaddr_in6 (28)
 *   tcpListen(sockaddr, opts)        -> fd       listening, nonblocking, cloexec
 *   tcpSocket(family, mark)          -> fd       unconnected, nonblocking, cloexec, SO_MARK
 *   tcpConnect(sockaddr, mark)       -> fd       connect() started (EINPROGRESS), SO_MARK
 *   closeFd(fd)                      -> undefined
 *   raiseNofile()                    -> { soft, hard }  RLIMIT_NOFILE soft limit raised to hard
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

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
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
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

static napi_value OriginalDst(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd;
  bool ipv6;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) ||
      !get_bool(env, argv[1], "ipv6", &ipv6)) {
    return NULL;
  }

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len = ipv6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN;
  int rc = ipv6 ? getsockopt((int)fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len)
                : getsockopt((int)fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
  if (rc != 0) {
    return throw_errno(env, errno,
                       ipv6 ? "getsockopt(IP6T_SO_ORIGINAL_DST)" : "getsockopt(SO_ORIGINAL_DST)");
  }

  napi_value result;
  CHECK_NAPI(napi_create_buffer_copy(env, len, &ss, NULL, &result));
  return result;
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

static napi_value TcpListen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_args(env, info, 2, argv) || !get_sockaddr(env, argv[0], &ss, &len)) return NULL;

  napi_valuetype type;
  CHECK_NAPI(napi_typeof(env, argv[1], &type));
  if (type != napi_object) return throw_type(env, "opts must be an object");

  bool transparent = false, reuse_port = false, v6only = false;
  int64_t backlog = 511;
  if (!opt_bool(env, argv[1], "transparent", "opts.transparent", &transparent) ||
      !opt_bool(env, argv[1], "reusePort", "opts.reusePort", &reuse_port) ||
      !opt_int(env, argv[1], "backlog", "opts.backlog", 0, INT32_MAX, &backlog) ||
      !opt_bool(env, argv[1], "v6only", "opts.v6only", &v6only)) {
    return NULL;
  }

  int family = ss.ss_family;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, errno, "socket");

  if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(SO_REUSEADDR)");
  if (reuse_port && set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(SO_REUSEPORT)");
  if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_V6ONLY, v6only ? 1 : 0) != 0)
    return close_and_throw(env, fd, errno, "setsockopt(IPV6_V6ONLY)");
  if (transparent) {
    /* A dual-stack AF_INET6 socket also accepts IPv4 flows: set both options there. */
    if ((family == AF_INET || !v6only) && set_int_opt(fd, SOL_IP, IP_TRANSPARENT, 1) != 0)
      return close_and_throw(env, fd, errno, "setsockopt(IP_TRANSPARENT)");
    if (family == AF_INET6 && set_int_opt(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) != 0)
      return close_and_throw(env, fd, errno, "setsockopt(IPV6_TRANSPARENT)");
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) return close_and_throw(env, fd, errno, "bind");
  if (listen(fd, (int)backlog) != 0) return close_and_throw(env, fd, errno, "listen");
  return fd_value(env, fd);
}

/* ---- tcpSocket(family, mark) / tcpConnect(sockaddr, mark) --------------------------------- */

/* Returns a nonblocking cloexec TCP socket with SO_MARK (unless mark is 0), or -1 after throwing. */
static int marked_socket(napi_env env, int family, uint32_t mark) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
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

/* ---- module ------------------------------------------------------------------------------- */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"originalDst", NULL, OriginalDst, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpListen", NULL, TcpListen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpSocket", NULL, TcpSocket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tcpConnect", NULL, TcpConnect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, CloseFd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"raiseNofile", NULL, RaiseNofile, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    napi_throw_error(env, "ERR_NAPI", "napi_define_properties failed");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
