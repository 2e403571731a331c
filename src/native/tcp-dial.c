/*
 * Dials the upstream proxy for one accepted client fd and runs the proxy handshake's I/O, then hands
 * both fds to the splice relay: no Node socket, promise or timer per connection. TypeScript keeps
 * every decision: it builds the handshake's bytes and judges each reply (src/outbound/handshake.ts);
 * this file only connects, writes, reads and reports. One file: connect, handshake I/O and the
 * hand-over to the relay are one state machine over one struct; what dials share with the rest is
 * split out (fd-watch.c, deadlines.c, splice.c).
 *
 *   tcpDial(clientFd, serverSockaddr, mark, opening, connectTimeoutMs, handshakeTimeoutMs, onEvent[, keepClient]) -> handle
 *       Owns clientFd from here on (unless it throws: a socket that cannot even be created); with
 *       keepClient, only until the dial ends before the relay, when the client is left open for JS
 *       to dial again (a group's next member) or reset. Connects (SO_MARK unless 0, TCP_NODELAY),
 *       writes `opening`, then reads. An empty opening (a direct connection: no handshake) is
 *       reported as DIAL_DATA with 0 bytes as soon as the connect succeeds, so a server that
 *       speaks first is not waited for. Each arrival calls onEvent(DIAL_DATA, length) with every byte
 *       received so far copied to the start of tcpDialReceived (no Buffer per event); inside that
 *       call JS calls tcpDialSend, tcpDialSplice or tcpDialAbort, or nothing to wait for more. A
 *       failure calls onEvent(kind, errno) with a DIAL_* kind below, after resetting the client
 *       (unless keepClient) and closing the upstream. No event follows tcpDialSplice or
 *       tcpDialAbort. An onEvent that throws aborts the dial (unless it spliced); its error is
 *       reported as uncaught (js-callback.h).
 *       A clientFd of -1 is a dial of the daemon's own (a pipelining probe): no client to reset,
 *       and it cannot splice; it ends with a failure or tcpDialAbort.
 *   tcpDialSend(handle, bytes)                 writes bytes (a step-by-step handshake's next message)
 *   tcpDialSplice(handle, consumed, headUp, idleMs, earlyCloseMs, earlyCloseMaxUp, token) -> relay handle
 *       The handshake is over: bytes received past `consumed` go to the client first, headUp
 *       (a Buffer, or anything else for none: bytes the client sent early) to the upstream first,
 *       then spliceRelay's contract (splice.c) with both fds.
 *   tcpDialBound(handle) -> Buffer             the upstream socket's local address (getsockname), raw
 *                                              sockaddr; before the splice (a proxy client's reply names it)
 *   tcpDialAbort(handle[, keepClient])         resets the client (unless keepClient), closes the upstream (idempotent)
 *   tcpDialReceived                            the Buffer (MAX_RECEIVED long) DIAL_DATA puts the bytes in,
 *                                              shared by every dial
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "deadlines.h"
#include "errors.h"
#include "fd-watch.h"
#include "handle-box.h"
#include "js-callback.h"
#include "shared-buffer.h"
#include "sockets.h"
#include "splice.h"
#include "tcp-dial.h"

/* Mirrored in src/native/tcp-dial.ts. */
enum { DIAL_DATA = 0, DIAL_CONNECT_FAILED = 1, DIAL_CONNECT_TIMEOUT = 2, DIAL_TIMEOUT = 3, DIAL_EOF = 4, DIAL_SOCKET_ERROR = 5 };
enum { CONNECTING, HANDSHAKING, ENDED };

/* Longer replies than any handshake's are a misbehaving server: the read fails with EMSGSIZE. */
#define MAX_RECEIVED 16384

/* tcpDialReceived: one buffer for every dial's DIAL_DATA, held for the module's life. */
static unsigned char *scratch;

typedef struct {
  napi_env env;
  napi_ref on_event;
  int client, upstream;
  bool keep_client; /* a failure leaves the client open (JS dials again or resets it) */
  bool report_connect; /* the opening is empty: the connect itself is reported (DIAL_DATA, 0 bytes) */
  int state;
  uv_loop_t *loop;
  /* The upstream's readiness in the addon's epoll set, which the relay inherits (fd-watch.h). */
  fd_watch watch;
  deadline timeout; /* the connect's, then the handshake's, on the shared timer (deadlines.h) */
  uint64_t handshake_timeout_ms;
  unsigned char *received;
  size_t received_len, received_cap;
  unsigned char *out; /* not yet written */
  size_t out_len, out_off;
  int connect_errno; /* a connect that failed at once, reported when the socket is first ready */
  handle_box *box;
  /* Calls into this dial on the stack (from the loop, JS, or onEvent): it is freed when the last one
   * returns after it ended, so nothing below them reaches freed memory. */
  int busy;
} dial;

/* The buffers go as soon as the dial ends: the JS handle (and with it this struct) may live on. */
static void drop_buffers(dial *d) {
  free(d->received);
  free(d->out);
  d->received = d->out = NULL;
  d->received_len = d->received_cap = d->out_len = d->out_off = 0;
}

static void enter(dial *d) {
  d->busy++;
}

/* Leaves a call into the dial: the last one out of an ended dial frees it (after the batch of events being dispatched). */
static void leave(dial *d) {
  if (--d->busy > 0 || d->state != ENDED) return;
  if (d->on_event != NULL) napi_delete_reference(d->env, d->on_event);
  handle_box_detach(d->box);
  drop_buffers(d);
  fd_watch_free_later(d);
}

/* Stops all I/O; with close_fds, resets the client and closes the upstream (else the caller took the upstream's watch). */
static void dial_end(dial *d, bool close_fds) {
  if (d->state == ENDED) return;
  d->state = ENDED;
  deadline_stop(&d->timeout);
  if (close_fds) {
    fd_watch_closing(&d->watch); /* the upstream socket is the dial's alone: its close leaves the set */
    if (!d->keep_client && d->client >= 0) reset_and_close(d->client);
    close(d->upstream);
    drop_buffers(d);
  }
}

/*
 * onEvent(kind, value); JS may end the dial from inside it, so the callback is released only after.
 * A handler that threw will not go on with the handshake: the dial ends as tcpDialAbort ends it.
 */
static void dial_event(dial *d, int kind, napi_value value) {
  napi_env env = d->env;
  napi_value fn, argv[2];
  napi_get_reference_value(env, d->on_event, &fn);
  napi_create_int32(env, kind, &argv[0]);
  argv[1] = value;
  enter(d);
  if (!call_js(env, addon_async_context(), fn, 2, argv)) {
    d->keep_client = false; /* the handler that would have taken the client over threw */
    dial_end(d, true);
  }
  leave(d);
}

static void fail(dial *d, int kind, int err) {
  napi_handle_scope scope;
  napi_value code;
  enter(d); /* the callback outlives dial_end for the call below */
  dial_end(d, true);
  if (napi_open_handle_scope(d->env, &scope) == napi_ok) {
    napi_create_int32(d->env, err, &code);
    dial_event(d, kind, code);
    napi_close_handle_scope(d->env, scope);
  }
  leave(d);
}

/* Waits for what the handshake needs next: the reply, and room for what is left to write. */
static void watch(dial *d) {
  if (!fd_watch_set(d->loop, &d->watch, d->out_off < d->out_len ? UV_READABLE | UV_WRITABLE : UV_READABLE)) fail(d, DIAL_SOCKET_ERROR, errno);
}

/* Writes what it can of `out`; false after failing the dial. */
static bool flush(dial *d) {
  while (d->out_off < d->out_len) {
    ssize_t n = send(d->upstream, d->out + d->out_off, d->out_len - d->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      fail(d, DIAL_SOCKET_ERROR, errno);
      return false;
    }
    d->out_off += (size_t)n;
  }
  return true;
}

static bool queue(dial *d, const void *bytes, size_t len) {
  size_t pending = d->out_len - d->out_off;
  unsigned char *next = malloc(pending + len);
  if (next == NULL) return false;
  if (pending > 0) memcpy(next, d->out + d->out_off, pending);
  memcpy(next + pending, bytes, len);
  free(d->out);
  d->out = next;
  d->out_len = pending + len;
  d->out_off = 0;
  return true;
}

static void on_timeout(deadline *timeout) {
  dial *d = (dial *)((char *)timeout - offsetof(dial, timeout));
  fail(d, d->state == CONNECTING ? DIAL_CONNECT_TIMEOUT : DIAL_TIMEOUT, ETIMEDOUT);
}

/* Hands every byte received so far to JS (DIAL_DATA). */
static void report_received(dial *d) {
  napi_handle_scope scope;
  napi_value length;
  if (d->received_len > 0) memcpy(scratch, d->received, d->received_len); /* received_cap never passes MAX_RECEIVED */
  if (napi_open_handle_scope(d->env, &scope) != napi_ok) return;
  if (napi_create_uint32(d->env, (uint32_t)d->received_len, &length) == napi_ok) dial_event(d, DIAL_DATA, length);
  napi_close_handle_scope(d->env, scope);
}

/* Writable without an error: a failed connect sets the socket's error, which epoll reports
   (on_ready_locked reads SO_ERROR then), so a getsockopt here would only ever read 0. */
static void on_connected(dial *d) {
  d->state = HANDSHAKING;
  /* Cannot fail: the connect's deadline leaves its place in the heap to this one. */
  if (!deadline_start(d->loop, &d->timeout, uv_now(d->loop) + d->handshake_timeout_ms)) {
    fail(d, DIAL_SOCKET_ERROR, ENOMEM);
    return;
  }
  if (!flush(d)) return;
  if (d->report_connect) report_received(d);
  if (d->state == HANDSHAKING) watch(d);
}

/* Reads what has arrived and hands all of it to JS. */
static void on_readable(dial *d) {
  if (d->received_len == d->received_cap) {
    size_t cap = d->received_cap == 0 ? 512 : d->received_cap * 2;
    unsigned char *grown = cap > MAX_RECEIVED ? NULL : realloc(d->received, cap);
    if (grown == NULL) {
      fail(d, DIAL_SOCKET_ERROR, EMSGSIZE);
      return;
    }
    d->received = grown;
    d->received_cap = cap;
  }
  ssize_t n = recv(d->upstream, d->received + d->received_len, d->received_cap - d->received_len, 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail(d, DIAL_SOCKET_ERROR, errno);
    return;
  }
  if (n == 0) {
    fail(d, DIAL_EOF, 0);
    return;
  }
  d->received_len += (size_t)n;
  report_received(d);
  if (d->state == HANDSHAKING) watch(d);
}

/* Reads at most this many times after a socket error before failing with it. */
#define READS_BEFORE_ERROR 4

static void on_ready_locked(dial *d, int status, int events) {
  if (d->state == ENDED) return;
  if (d->connect_errno != 0) {
    /* A connect that failed at once: reported from the loop like any failed connect, so JS sees one path. */
    fail(d, DIAL_CONNECT_FAILED, d->connect_errno);
    return;
  }
  if (status < 0) {
    /* An error (a reset) is reported alone, even with bytes queued ahead of it: a server that
     * answers and resets at once (Dante refusing a CONNECT) would lose its answer. Read them first:
     * the answer is judged, and the read after it fails with the error. */
    for (int i = 0; i < READS_BEFORE_ERROR && d->state == HANDSHAKING; i++) on_readable(d);
    if (d->state == ENDED) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(d->upstream, SOL_SOCKET, SO_ERROR, &err, &len);
    fail(d, d->state == CONNECTING ? DIAL_CONNECT_FAILED : DIAL_SOCKET_ERROR, err != 0 ? err : -status);
    return;
  }
  if (d->state == CONNECTING) {
    on_connected(d);
    return;
  }
  if ((events & UV_WRITABLE) && !flush(d)) return;
  if (events & UV_READABLE) on_readable(d);
  else watch(d);
}

static void on_ready(fd_watch *w, int status, int events) {
  dial *d = w->data;
  enter(d);
  on_ready_locked(d, status, events);
  leave(d);
}

/* The dial behind the first argument; *d is NULL once the dial is gone (ended and freed). */
static bool get_dial(napi_env env, napi_callback_info info, size_t want, napi_value *argv, dial **d) {
  size_t argc = want;
  bool ok;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "the first argument must be a handle from tcpDial");
    return false;
  }
  *d = handle_box_target(env, argv[0], &ok);
  return ok;
}

/*
 * Writes the opening right after connect() said EINPROGRESS: to a server on this host or in another
 * namespace the connection is usually up by then (the SYN-ACK was processed in connect's own
 * softirq), and the request goes without waiting for writability (an epoll_ctl and a loop turn).
 * False while it is still connecting (EAGAIN), or when the connect failed already, whose error
 * (the send took it from the socket) is then reported from the loop as connect_errno.
 */
static bool sent_at_once(dial *d) {
  ssize_t n = send(d->upstream, d->out, d->out_len, MSG_NOSIGNAL);
  if (n >= 0) {
    d->out_off = (size_t)n;
    return true;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK) d->connect_errno = errno;
  return false;
}

napi_value TcpDial(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], external;
  bool keep_client = false;
  int32_t client;
  uint32_t mark;
  int64_t connect_ms, handshake_ms;
  void *sa, *opening;
  size_t sa_len, opening_len;
  bool sa_buffer = false, opening_buffer = false;
  napi_valuetype cb_type;
  uv_loop_t *loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7 ||
      napi_get_value_int32(env, argv[0], &client) != napi_ok || napi_is_buffer(env, argv[1], &sa_buffer) != napi_ok || !sa_buffer ||
      napi_get_buffer_info(env, argv[1], &sa, &sa_len) != napi_ok || napi_get_value_uint32(env, argv[2], &mark) != napi_ok ||
      napi_is_buffer(env, argv[3], &opening_buffer) != napi_ok || !opening_buffer ||
      napi_get_buffer_info(env, argv[3], &opening, &opening_len) != napi_ok || napi_get_value_int64(env, argv[4], &connect_ms) != napi_ok ||
      napi_get_value_int64(env, argv[5], &handshake_ms) != napi_ok || napi_typeof(env, argv[6], &cb_type) != napi_ok ||
      cb_type != napi_function || client < -1 || connect_ms <= 0 || handshake_ms <= 0 ||
      (sa_len != sizeof(struct sockaddr_in) && sa_len != sizeof(struct sockaddr_in6)) ||
      (argc >= 8 && napi_get_value_bool(env, argv[7], &keep_client) != napi_ok)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpDial(clientFd, sockaddr, mark, opening, connectTimeoutMs, handshakeTimeoutMs, onEvent[, keepClient])");
    return NULL;
  }
  const struct sockaddr *server = sa;
  int fd = marked_socket(env, server->sa_family, mark);
  if (fd < 0) return NULL;
  dial *d = calloc(1, sizeof *d);
  if (d == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || !queue(d, opening, opening_len)) {
    if (d != NULL) free(d->out);
    free(d);
    close(fd);
    return throw_errno(env, ENOMEM, "tcpDial");
  }
  d->env = env;
  d->loop = loop;
  d->client = client;
  d->keep_client = keep_client;
  d->report_connect = opening_len == 0;
  d->upstream = fd;
  d->handshake_timeout_ms = (uint64_t)handshake_ms;
  if (napi_create_reference(env, argv[6], 1, &d->on_event) != napi_ok ||
      (external = handle_box_new(env, d, &d->box)) == NULL) {
    free(d->out);
    free(d);
    close(fd);
    return NULL;
  }
  fd_watch_init(&d->watch, fd, on_ready, d);
  deadline_init(&d->timeout, on_timeout);
  d->state = CONNECTING;
  /* Even a connect that completes (or fails) at once is reported from the loop: no event fires
   * inside this call. A socket whose connect failed is ready at once (EPOLLHUP). */
  if (connect(fd, server, (socklen_t)sa_len) != 0 && errno != EINPROGRESS) d->connect_errno = errno;
  if (d->connect_errno == 0 && !d->report_connect && sent_at_once(d)) d->state = HANDSHAKING;
  int err = 0;
  uint64_t timeout_ms = d->state == CONNECTING ? (uint64_t)connect_ms : d->handshake_timeout_ms;
  if (!deadline_start(loop, &d->timeout, uv_now(loop) + timeout_ms)) err = ENOMEM;
  else if (!fd_watch_set(loop, &d->watch, d->state == CONNECTING || d->out_off < d->out_len ? UV_WRITABLE : UV_READABLE)) err = errno;
  if (err != 0) {
    d->keep_client = true; /* it throws: the client stays the caller's */
    dial_end(d, true);
    enter(d);
    leave(d);
    return throw_errno(env, err, "tcpDial");
  }
  return external;
}

napi_value TcpDialSend(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  dial *d;
  void *bytes;
  size_t len;
  bool is_buffer = false;
  if (!get_dial(env, info, 2, argv, &d)) return NULL;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &bytes, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpDialSend(handle, bytes)");
    return NULL;
  }
  if (d == NULL || d->state != HANDSHAKING) return NULL;
  if (!queue(d, bytes, len)) return throw_errno(env, ENOMEM, "tcpDialSend");
  enter(d);
  flush(d); /* on_readable waits for room for what is left */
  leave(d);
  return NULL;
}

napi_value TcpDialSplice(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  dial *d;
  int64_t consumed, idle_ms, early_close_ms, early_close_max_up;
  void *head_up = NULL;
  size_t head_up_len = 0;
  bool head_up_buffer = false;
  int32_t token;
  if (!get_dial(env, info, 7, argv, &d)) return NULL;
  if (d == NULL || d->state != HANDSHAKING || d->out_off < d->out_len || d->client < 0) {
    napi_throw_error(env, "SG_ERR_DIAL_STATE", "tcpDialSplice: the dial is over, still writing or has no client");
    return NULL;
  }
  if (napi_get_value_int64(env, argv[1], &consumed) != napi_ok || napi_is_buffer(env, argv[2], &head_up_buffer) != napi_ok ||
      (head_up_buffer && napi_get_buffer_info(env, argv[2], &head_up, &head_up_len) != napi_ok) ||
      napi_get_value_int64(env, argv[3], &idle_ms) != napi_ok || napi_get_value_int64(env, argv[4], &early_close_ms) != napi_ok ||
      napi_get_value_int64(env, argv[5], &early_close_max_up) != napi_ok || napi_get_value_int32(env, argv[6], &token) != napi_ok ||
      consumed < 0 || (size_t)consumed > d->received_len || idle_ms < 0 || early_close_ms < 0 || early_close_max_up < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpDialSplice(handle, consumed, headUp, idleMs, earlyCloseMs, earlyCloseMaxUp, token)");
    return NULL;
  }
  int fds[2] = {d->client, d->upstream};
  splice_heads heads = {d->received + consumed, d->received_len - (size_t)consumed, head_up, head_up_len};
  enter(d);
  dial_end(d, false);
  /* The relay takes the upstream's place in the epoll set: no epoll_ctl, where a removal and an addition were two. */
  napi_value relay = splice_start(env, fds, &heads, &d->watch, idle_ms, early_close_ms, early_close_max_up, token);
  leave(d); /* frees the buffers splice_start copied the heads from */
  return relay;
}

napi_value TcpDialBound(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  dial *d;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  void *data;
  if (!get_dial(env, info, 1, argv, &d)) return NULL;
  if (d == NULL || d->state != HANDSHAKING) {
    napi_throw_error(env, "SG_ERR_DIAL_STATE", "tcpDialBound: the dial is not connected");
    return NULL;
  }
  if (getsockname(d->upstream, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, errno, "getsockname");
  CHECK_NAPI(napi_create_buffer_copy(env, len, &ss, &data, &out));
  return out;
}

napi_value TcpDialAbort(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  dial *d;
  bool keep_client = false;
  if (!get_dial(env, info, 1, argv, &d)) return NULL;
  /* get_dial read only the handle: the optional flag is read here, absent meaning false. */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || (argc >= 2 && napi_get_value_bool(env, argv[1], &keep_client) != napi_ok)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "tcpDialAbort(handle[, keepClient])");
    return NULL;
  }
  if (d != NULL) {
    d->keep_client = keep_client;
    enter(d);
    dial_end(d, true);
    leave(d);
  }
  return NULL;
}

napi_value tcp_dial_received(napi_env env) {
  return shared_buffer(env, MAX_RECEIVED, &scratch, "tcpDialReceived");
}
