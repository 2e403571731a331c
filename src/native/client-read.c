/*
 * A proxy client's handshake I/O on its accepted fd, without a Node socket: the addon waits for
 * the client's bytes and hands them to JS, which parses them (src/codec) and answers with small
 * synchronous writes. TypeScript keeps every decision; this file only reads, writes and times out.
 *
 *   clientReadInit(onEvent)                  the one callback every reader reports to, set once:
 *                                            onEvent(fd, kind, value)
 *   clientRead(fd, timeoutMs)
 *       Reads fd whenever it is readable, until clientReadStop(fd) or the first EOF, error or
 *       timeout (timeoutMs after this call). Each arrival calls onEvent(fd, READ_DATA, length) with
 *       the bytes of that arrival at the start of clientReadReceived (valid only during the call:
 *       JS copies what it keeps); then onEvent(fd, READ_EOF, 0), onEvent(fd, READ_ERROR, errno) or
 *       onEvent(fd, READ_TIMEOUT, 0) once, after which the reader has stopped by itself. Readers
 *       are known by their fd, not by a JS handle: no object, reference or finalizer per client.
 *       The fd is never closed here: it stays the caller's. An onEvent that throws stops the
 *       reader and is reported as uncaught (js-callback.h).
 *   clientReadStop(fd)                       stops reading (nothing if no reader); no event follows
 *   clientReadReceived                       the Buffer (READ_CHUNK long) READ_DATA fills, shared by every reader
 *   clientSend(fd, bytes) -> count | -errno  one nonblocking send (MSG_NOSIGNAL); a handshake's replies
 *                                            are a few bytes on a fresh socket, which the kernel takes whole
 *   clientReset(fd)                          closes fd with an RST (SO_LINGER 0)
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "args.h"
#include "client-read.h"
#include "deadlines.h"
#include "errors.h"
#include "fd-watch.h"
#include "js-callback.h"
#include "shared-buffer.h"
#include "sockets.h"

/* Mirrored in src/native/client-read.ts. */
enum { READ_DATA = 0, READ_EOF = 1, READ_ERROR = 2, READ_TIMEOUT = 3 };

/* The most one arrival hands over: an HTTP proxy request's head is at most 16 KiB. */
#define READ_CHUNK 16384

static unsigned char *scratch;
static napi_ref on_event; /* clientReadInit's callback, for the module's life */

typedef struct {
  napi_env env;
  uv_loop_t *loop;
  fd_watch watch; /* the fd's readability in the addon's epoll set (fd-watch.h) */
  deadline timeout; /* on the shared timer (deadlines.h) */
  bool stopped;
  /* Calls into this reader on the stack: a stopped reader is freed when the last one returns. */
  int busy;
} reader;

/* The live readers by fd; a reader leaves as soon as it stops, before it is freed. */
static reader **by_fd;
static size_t by_fd_len;

static bool table_put(reader *r) {
  size_t fd = (size_t)r->watch.fd;
  if (fd >= by_fd_len) {
    size_t len = by_fd_len == 0 ? 1024 : by_fd_len;
    while (len <= fd) len *= 2;
    reader **grown = realloc(by_fd, len * sizeof *grown);
    if (grown == NULL) return false;
    memset(grown + by_fd_len, 0, (len - by_fd_len) * sizeof *grown);
    by_fd = grown;
    by_fd_len = len;
  }
  by_fd[fd] = r;
  return true;
}

static reader *table_get(int64_t fd) {
  return fd >= 0 && (size_t)fd < by_fd_len ? by_fd[fd] : NULL;
}

static void enter(reader *r) {
  r->busy++;
}

/* Leaves a call into the reader: the last one out of a stopped reader frees it (after the batch of events being dispatched). */
static void leave(reader *r) {
  if (--r->busy == 0 && r->stopped) fd_watch_free_later(r);
}

static void reader_stop(reader *r) {
  if (r->stopped) return;
  r->stopped = true;
  if (table_get(r->watch.fd) == r) by_fd[r->watch.fd] = NULL;
  fd_watch_set(r->loop, &r->watch, 0);
  deadline_stop(&r->timeout);
}

/* onEvent(fd, kind, value); a last event (anything but READ_DATA) stops the reader first. */
static void reader_event(reader *r, int kind, int64_t value) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_value fn, argv[3];
  if (kind != READ_DATA) reader_stop(r);
  if (on_event == NULL || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, on_event, &fn);
  napi_create_int32(env, r->watch.fd, &argv[0]);
  napi_create_int32(env, kind, &argv[1]);
  napi_create_int64(env, value, &argv[2]);
  /* Even if JS stopped it, the reader lives until this call returns (busy): still readable here. */
  if (!call_js(env, addon_async_context(), fn, 3, argv) && !r->stopped) reader_stop(r);
  napi_close_handle_scope(env, scope);
}

static void on_timeout(deadline *timeout) {
  reader *r = (reader *)((char *)timeout - offsetof(reader, timeout));
  enter(r);
  if (!r->stopped) reader_event(r, READ_TIMEOUT, 0);
  leave(r);
}

/* The socket's pending error, or `fallback` when it has none. */
static int socket_error(int fd, int fallback) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err != 0 ? err : fallback;
}

static void on_ready(fd_watch *w, int status, int events) {
  reader *r = w->data;
  if (r->stopped) return;
  enter(r);
  ssize_t n = recv(w->fd, scratch, READ_CHUNK, 0);
  if (n > 0) reader_event(r, READ_DATA, n);
  else if (n == 0) reader_event(r, READ_EOF, 0);
  else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) reader_event(r, READ_ERROR, errno);
  /* An error (a reset) comes alone, even with bytes queued ahead of it: those were passed on above. */
  if (status < 0 && !r->stopped) reader_event(r, READ_ERROR, socket_error(w->fd, -status));
  leave(r);
}

napi_value ClientReadInit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype cb_type;
  if (!get_args(env, info, 1, argv)) return NULL;
  if (napi_typeof(env, argv[0], &cb_type) != napi_ok || cb_type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "clientReadInit(onEvent)");
    return NULL;
  }
  if (on_event != NULL) napi_delete_reference(env, on_event);
  on_event = NULL;
  CHECK_NAPI(napi_create_reference(env, argv[0], 1, &on_event));
  return NULL;
}

napi_value ClientRead(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd, timeout_ms;
  uv_loop_t *loop;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) ||
      !get_int(env, argv[1], "timeoutMs", 1, INT32_MAX, &timeout_ms)) {
    return NULL;
  }
  if (on_event == NULL) {
    napi_throw_error(env, "SG_ERR_CLIENT_READ_STATE", "clientRead: clientReadInit was not called");
    return NULL;
  }
  if (table_get(fd) != NULL) {
    napi_throw_error(env, "SG_ERR_CLIENT_READ_STATE", "clientRead: that fd is already being read");
    return NULL;
  }
  CHECK_NAPI(napi_get_uv_event_loop(env, &loop));
  reader *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, ENOMEM, "clientRead");
  r->env = env;
  r->loop = loop;
  fd_watch_init(&r->watch, (int)fd, on_ready, r);
  deadline_init(&r->timeout, on_timeout);
  int err = 0;
  if (!table_put(r) || !deadline_start(loop, &r->timeout, uv_now(loop) + (uint64_t)timeout_ms)) err = ENOMEM;
  else if (!fd_watch_set(loop, &r->watch, UV_READABLE)) err = errno;
  if (err != 0) {
    enter(r);
    reader_stop(r);
    leave(r);
    return throw_errno(env, err, "clientRead");
  }
  return NULL;
}

napi_value ClientReadStop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  reader *r = table_get(fd);
  if (r != NULL) {
    enter(r);
    reader_stop(r);
    leave(r);
  }
  return NULL;
}

napi_value ClientSend(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  int64_t fd;
  void *data;
  size_t len;
  bool is_buffer = false;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "clientSend(fd, bytes)");
    return NULL;
  }
  ssize_t n = send((int)fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  CHECK_NAPI(napi_create_int64(env, n < 0 ? -errno : n, &out));
  return out;
}

napi_value ClientReset(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  reset_and_close((int)fd);
  return NULL;
}

napi_value client_read_received(napi_env env) {
  return shared_buffer(env, READ_CHUNK, &scratch, "clientReadReceived");
}
