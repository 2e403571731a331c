/*
 * Accepts diverted TCP connections without a Node socket per connection: a Node socket (handle,
 * stream state, getpeername) costs more CPU than redsocks spends on a whole connection, and most
 * flows never need one (the native dialer and the splice relay take raw fds). TypeScript wraps
 * the fd in a net.Socket only when a flow needs Node (sniffing, the copying relay, …).
 *
 *   tcpAccept(listenFd, destination, scratch, onAccept) -> handle
 *       Takes listenFd (a listening socket; closed by tcpAcceptClose). destination 0: the address
 *       before REDIRECT/DNAT (SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST for native IPv6 peers);
 *       1: the local address (TPROXY); 2: none, for a listener that is no IP socket (the control
 *       socket, unix-socket.c). For each connection, onAccept(fd, err) with the peer's raw
 *       sockaddr in scratch[0, 28) and the destination's in scratch[28, 56); err is 0, or the errno
 *       of reading the destination (then the fd is the callback's to reset). A connection whose peer
 *       is gone by then (reset in the queue) is closed without a call. fd -1: accept failed
 *       with errno err; on EMFILE/ENFILE/ENOBUFS/ENOMEM accepting pauses for 100 ms.
 *       The fd is the callback's once it returns; a callback that throws has not taken it: the
 *       connection is reset here and the error reported as uncaught (js-callback.h).
 *   tcpAcceptClose(handle)   stops accepting and closes the listening socket (idempotent)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "js-callback.h"
#include "sockets.h"
#include "tcp-accept.h"

#define ADDR_SLOT 28
#define ACCEPT_BATCH 64
#define PAUSE_MS 100

typedef struct {
  napi_env env;
  int fd;
  int destination;
  unsigned char *scratch;
  napi_ref scratch_ref, on_accept;
  uv_poll_t poll;
  uv_timer_t pause;
  int open_handles;
  bool closing, finalized;
} acceptor;

static void acceptor_free_if_done(acceptor *a) {
  if (a->open_handles == 0 && a->finalized) free(a);
}

static void on_handle_closed(uv_handle_t *handle) {
  acceptor *a = handle->data;
  a->open_handles--;
  acceptor_free_if_done(a);
}

/* Stops accepting for good; safe inside onAccept (the loop checks `closing`) and twice. */
static void acceptor_close(acceptor *a) {
  if (a->closing) return;
  a->closing = true;
  uv_close((uv_handle_t *)&a->poll, on_handle_closed);
  uv_close((uv_handle_t *)&a->pause, on_handle_closed);
  close(a->fd);
  napi_delete_reference(a->env, a->on_accept);
  napi_delete_reference(a->env, a->scratch_ref);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  acceptor *a = data;
  acceptor_close(a);
  a->finalized = true;
  acceptor_free_if_done(a);
}

static bool is_v4_mapped(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* Fills the scratch slots for fd; returns 0 or the errno of reading the destination, -1 when the
   peer is already gone (reset while it waited in the queue: getpeername fails with ENOTCONN). */
static int read_addresses(acceptor *a, int fd) {
  struct sockaddr_storage peer, dst;
  socklen_t peer_len = sizeof peer, dst_len = sizeof dst;
  memset(a->scratch, 0, 2 * ADDR_SLOT);
  if (a->destination == 2) return 0;
  if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0) return -1;
  memcpy(a->scratch, &peer, peer_len < ADDR_SLOT ? peer_len : ADDR_SLOT);
  int err;
  if (a->destination == 1) {
    err = getsockname(fd, (struct sockaddr *)&dst, &dst_len) == 0 ? 0 : errno;
  } else {
    /* The peer has the family of the original destination: v4-mapped on a dual-stack listener. */
    err = original_dst(fd, peer.ss_family == AF_INET6 && !is_v4_mapped(&peer), &dst, &dst_len);
  }
  if (err != 0) return err;
  memcpy(a->scratch + ADDR_SLOT, &dst, dst_len < ADDR_SLOT ? dst_len : ADDR_SLOT);
  return 0;
}

static void on_readable(uv_poll_t *handle, int status, int events);

static void on_pause_over(uv_timer_t *timer) {
  acceptor *a = timer->data;
  if (!a->closing) uv_poll_start(&a->poll, UV_READABLE, on_readable);
}

/* One JS call per connection, all inside one callback scope: microtasks run once per batch. */
static void on_readable(uv_poll_t *handle, int status, int events) {
  acceptor *a = handle->data;
  napi_env env = a->env;
  napi_handle_scope scope;
  napi_callback_scope callback_scope;
  napi_value fn, recv;
  if (a->closing || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, a->on_accept, &fn);
  napi_get_global(env, &recv);
  napi_open_callback_scope(env, recv, addon_async_context(), &callback_scope);
  for (int i = 0; i < ACCEPT_BATCH && !a->closing; i++) {
    int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err = 0;
    if (fd < 0) {
      err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) break;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        uv_poll_stop(&a->poll);
        uv_timer_start(&a->pause, on_pause_over, PAUSE_MS, 0);
      }
    } else if ((err = read_addresses(a, fd)) < 0) {
      close(fd); /* nobody to answer */
      continue;
    }
    napi_value argv[2], ignored;
    napi_create_int32(env, fd, &argv[0]);
    napi_create_int32(env, err, &argv[1]);
    if (!js_returned(env, napi_call_function(env, recv, fn, 2, argv, &ignored))) {
      if (fd >= 0) reset_and_close(fd); /* a callback that threw has not taken the fd */
      break;
    }
    if (fd < 0) break;
  }
  napi_close_callback_scope(env, callback_scope);
  napi_close_handle_scope(env, scope);
}

napi_value TcpAccept(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], external;
  int32_t fd, destination;
  void *scratch;
  size_t scratch_len;
  napi_valuetype cb_type;
  bool is_buffer = false;
  uv_loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &destination) != napi_ok ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &scratch, &scratch_len) != napi_ok || napi_typeof(env, argv[3], &cb_type) != napi_ok ||
      cb_type != napi_function || fd < 0 || destination < 0 || destination > 2 || scratch_len < 2 * ADDR_SLOT) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpAccept(listenFd, destination 0|1|2, scratch Buffer(56), onAccept)");
    return NULL;
  }
  acceptor *a = calloc(1, sizeof *a);
  if (a == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(a);
    napi_throw_error(env, "ENOMEM", "tcpAccept: out of memory");
    return NULL;
  }
  a->env = env;
  a->fd = fd;
  a->destination = destination;
  a->scratch = scratch;
  if (napi_create_reference(env, argv[2], 1, &a->scratch_ref) != napi_ok || napi_create_reference(env, argv[3], 1, &a->on_accept) != napi_ok ||
      napi_create_external(env, a, on_finalize, NULL, &external) != napi_ok) {
    free(a); /* the references leak with the env; this only fails when Node-API is broken */
    napi_throw_error(env, "ERR_NAPI", "tcpAccept: Node-API call failed");
    return NULL;
  }
  uv_poll_init_socket(loop, &a->poll, fd);
  uv_timer_init(loop, &a->pause);
  a->poll.data = a->pause.data = a;
  a->open_handles = 2;
  uv_poll_start(&a->poll, UV_READABLE, on_readable);
  return external;
}

napi_value TcpAcceptClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpAcceptClose(handle)");
    return NULL;
  }
  acceptor_close(data);
  return NULL;
}
