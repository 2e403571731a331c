/*
 * A transparent UDP socket read with recvmmsg on a uv_poll_t of the main loop. Each batch calls
 *   cb(null, payloads: Buffer[], addrs: Buffer)
 * where payloads[i] holds `headroom` unused bytes and then datagram i (room to write a SOCKS5
 * UDP header in front without copying), and addrs holds UDP_ADDR_PAIR bytes per datagram: the
 * client's sockaddr, then the original destination's (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR), each
 * in a 28-byte slot (a sockaddr_in is zero-padded; family 0 means the kernel gave none).
 * A failed read calls cb(error) and polling goes on.
 *
 * With `fast` (a table from udpFastCreate), a datagram of an established (client, destination)
 * pair goes straight to its relay (udp-fast.c) and only the others reach cb; a batch with none
 * left makes no call.
 *
 *   udpListen(sockaddr, { headroom?, v6only?, reusePort?, fast? }, cb) -> handle
 *   udpListenClose(handle)                                      -> undefined (idempotent)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "args.h"
#include "errors.h"
#include "js-callback.h"
#include "sockets.h"
#include "udp-fast.h"
#include "udp-listen.h"

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
  udp_fast *fast; /* NULL: every datagram goes to JS */
  struct mmsghdr msgs[UDP_BATCH];
  unsigned char origdst[UDP_BATCH][UDP_ADDR_SLOT];
  int to_js[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  struct sockaddr_storage peers[UDP_BATCH];
  union {
    struct cmsghdr align;
    char buf[2 * CMSG_SPACE(sizeof(struct sockaddr_in6))];
  } ctrl[UDP_BATCH];
} udp_listener;

static void listener_free_if_done(udp_listener *l) {
  if (!l->poll_closed || !l->finalized) return;
  if (l->fast != NULL) udp_fast_release(l->fast);
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
  napi_value fn;
  if (napi_get_reference_value(l->env, l->callback, &fn) != napi_ok || fn == NULL) return;
  call_js(l->env, l->async, fn, argc, argv);
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

/* Hands the received datagrams l->to_js[0, count) to JS; false when the batch could not be built. */
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
  for (int j = 0; j < count; j++) {
    int i = l->to_js[j];
    struct msghdr *msg = &l->msgs[i].msg_hdr;
    size_t len = l->msgs[i].msg_len;
    void *data;
    napi_value payload;
    if (napi_create_buffer(env, l->headroom + len, &data, &payload) != napi_ok ||
        napi_set_element(env, payloads, (uint32_t)j, payload) != napi_ok) {
      return false;
    }
    memcpy((unsigned char *)data + l->headroom, l->arena + (size_t)i * UDP_SLOT, len);
    unsigned char *pair = (unsigned char *)addr_data + (size_t)j * UDP_ADDR_PAIR;
    socklen_t peer_len = msg->msg_namelen < UDP_ADDR_SLOT ? msg->msg_namelen : UDP_ADDR_SLOT;
    memcpy(pair, &l->peers[i], peer_len);
    memcpy(pair + UDP_ADDR_SLOT, l->origdst[i], UDP_ADDR_SLOT);
  }
  napi_value argv[3] = {null_v, payloads, addrs};
  listener_call(l, 3, argv);
  return true;
}

/* Sends the established pairs' datagrams on, then hands the rest to JS. */
static bool listener_route(udp_listener *l, int n) {
  int count = 0;
  for (int i = 0; i < n; i++) {
    memset(l->origdst[i], 0, UDP_ADDR_SLOT);
    copy_origdst(&l->msgs[i].msg_hdr, l->origdst[i]);
    if (l->fast == NULL || !udp_fast_offer(l->fast, &l->peers[i], l->origdst[i], l->arena + (size_t)i * UDP_SLOT, l->msgs[i].msg_len))
      l->to_js[count++] = i;
  }
  if (l->fast != NULL) udp_fast_flush(l->fast);
  return count == 0 || listener_deliver(l, count);
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
    else if (n > 0) more = listener_route(l, n) && n == UDP_BATCH;
    napi_close_handle_scope(env, scope);
    if (!more) return;
  }
}

napi_value UdpListen(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct sockaddr_storage ss;
  socklen_t len;
  napi_valuetype type;
  if (!get_sockaddr_and_opts(env, info, 3, argv, &ss, &len)) return NULL;
  CHECK_NAPI(napi_typeof(env, argv[2], &type));
  if (type != napi_function) return throw_type(env, "callback must be a function");
  int64_t headroom = 0;
  bool v6only = false, reuse_port = false;
  if (!opt_int(env, argv[1], "headroom", "opts.headroom", 0, UDP_MAX_HEADROOM, &headroom) ||
      !opt_bool(env, argv[1], "v6only", "opts.v6only", &v6only) ||
      !opt_bool(env, argv[1], "reusePort", "opts.reusePort", &reuse_port)) {
    return NULL;
  }
  udp_fast *fast = NULL;
  napi_value fast_v;
  napi_valuetype fast_type;
  CHECK_NAPI(napi_get_named_property(env, argv[1], "fast", &fast_v));
  CHECK_NAPI(napi_typeof(env, fast_v, &fast_type));
  if (fast_type != napi_undefined && (fast = udp_fast_from(env, fast_v)) == NULL) return NULL;
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
  l->fast = fast;
  if (fast != NULL) udp_fast_hold(fast);
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

napi_value UdpListenClose(napi_env env, napi_callback_info info) {
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
