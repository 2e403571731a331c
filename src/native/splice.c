/*
 * Relays an established TCP connection pair in the kernel with splice(2): socket → pipe → socket,
 * so payload bytes never enter user space. It keeps the JavaScript relay's contract: half-close
 * (EOF one way becomes shutdown(SHUT_WR) the other way while the opposite direction flows on),
 * an idle timeout, byte counts, and a reset of both sides when either fails. One file: the pump,
 * the half-close and the ending work on one relay struct from one event handler; what relays share
 * is split out (pipe-pool.c, deadlines.c, fd-watch.c, slot-table.c).
 *
 * Pipes come from a small shared pool and are held only while bytes are in flight, so an idle
 * connection costs two fds, not six. Backpressure is the pipe itself: at most one pipe's worth of
 * bytes (64 KiB; 1 MiB once a splice filled it, pipe-pool.h) is in flight per direction, and a full
 * pipe stops reading from the source.
 *
 *   spliceRelayOnDone(onDone)   the one function every relay's end is reported to (set before the first relay)
 *   spliceRelay(clientFd, upstreamFd, headDown, headUp, idleMs, earlyCloseMs, earlyCloseMaxUp, token) -> handle
 *       Duplicates both fds (the caller closes its own). headDown/headUp (Buffer or null) are bytes
 *       the caller already read and that must be sent first to the client / the upstream.
 *       An upstream EOF with no data back, within earlyCloseMs of the start and before the client
 *       sent earlyCloseMaxUp bytes, is a failed connect: the client is reset.
 *       onDone(token, outcome, bytesUp, bytesDown, errno, side) once, where token is the caller's
 *       int32 for this relay (it may come before spliceRelay returns), outcome one of the OUTCOME_*
 *       values below and side 0 (client) or 1 (upstream) for a reset. NO_PIPE: no pipe could be
 *       made (errno EMFILE, ENFILE), both sides reset. An error it throws is reported as uncaught
 *       (js-callback.h). The handle is a small integer (slot-table.h): a live relay holds nothing
 *       in JS, neither an external nor a reference to a callback of its own.
 *   spliceRelayStop(handle)   resets both sides now (a no-op once finished)
 *
 * splice_start (splice.h) is the same for fds that C already owns: the native dialer's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "deadlines.h"
#include "fd-watch.h"
#include "js-callback.h"
#include "pipe-pool.h"
#include "slot-table.h"
#include "splice.h"

enum { OUTCOME_CLOSED = 0, OUTCOME_RESET = 1, OUTCOME_IDLE = 2, OUTCOME_STOPPED = 3, OUTCOME_UPSTREAM_CLOSED_EARLY = 4, OUTCOME_NO_PIPE = 5 };
enum { CLIENT = 0, UPSTREAM = 1 };
/* Direction d carries bytes from fd[d] to fd[1 - d]: UP (client → upstream), DOWN (upstream → client). */
enum { UP = 0, DOWN = 1 };

/*
 * 32-bit counts, laid out without padding: every idle relay holds two of these, and 48 bytes each
 * instead of 64 make the relay a 256-byte malloc chunk instead of 288. A pipe holds at most its
 * capacity (pipe-max-size, 1 MiB by default); a head, what was read before the relay (copy_head
 * refuses more than 4 GiB).
 */
typedef struct {
  spliced_pipe pipe;
  char *head; /* bytes to send before any spliced ones */
  uint64_t bytes;
  uint32_t in_pipe;
  uint32_t head_len, head_off;
  bool eof;      /* the source has sent FIN */
  bool shut;     /* FIN passed on to the destination */
  bool bulk;     /* a splice filled the pipe: this direction takes large pipes (pipe-pool.h) */
} direction;

/* spliceRelayOnDone's function, and every live relay by its handle. */
static napi_ref on_done;
static slot_table relays;

typedef struct {
  napi_env env;
  int32_t handle, token;
  int fd[2];
  uv_loop_t *loop;
  fd_watch watch[2]; /* the client's and the upstream's readiness (fd-watch.h) */
  deadline idle; /* one timer for every relay's idle timeout (deadlines.h) */
  uint64_t idle_ms, last_activity, started, early_close_ms, early_close_max_up;
  direction dir[2];
  bool finished; /* onDone called, fds closed */
  bool sole_owner; /* no other descriptor shares the sockets' files (a native dial's): closing them leaves the set */
} relay;

static uint64_t loop_now(const relay *r) {
  return uv_now(r->loop);
}

/* The heads now; the relay itself once no event of the batch being dispatched can still name it. */
static void free_relay(relay *r) {
  for (int d = 0; d < 2; d++) free(r->dir[d].head);
  fd_watch_free_later(r);
}

static void report(relay *r, int outcome, int err, int side) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, argv[6];
  napi_get_reference_value(env, on_done, &cb);
  napi_create_int32(env, r->token, &argv[0]);
  napi_create_int32(env, outcome, &argv[1]);
  napi_create_double(env, (double)r->dir[UP].bytes, &argv[2]);
  napi_create_double(env, (double)r->dir[DOWN].bytes, &argv[3]);
  napi_create_int32(env, err, &argv[4]);
  napi_create_int32(env, side, &argv[5]);
  call_js(env, addon_async_context(), cb, 6, argv); /* the relay is over: nothing to undo if it threw */
  napi_close_handle_scope(env, scope);
}

/* Ends the relay: resets (RST) the sides in `reset_mask`, closes everything, reports once. */
static void finish(relay *r, int outcome, int err, int side, int reset_mask) {
  if (r->finished) return;
  r->finished = true;
  slot_release(&relays, r->handle);
  for (int i = 0; i < 2; i++) {
    /* A dup elsewhere (spliceRelay's fds are Node's) would keep the socket in the set past its close. */
    if (r->sole_owner) fd_watch_closing(&r->watch[i]);
    else fd_watch_set(r->loop, &r->watch[i], 0);
    if (reset_mask & (1 << i)) {
      struct linger abort_on_close = {1, 0};
      setsockopt(r->fd[i], SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    }
    close(r->fd[i]);
  }
  deadline_stop(&r->idle);
  for (int d = 0; d < 2; d++) {
    /* A pipe with bytes still in it is not clean enough to pool. */
    if (r->dir[d].pipe.fd[0] >= 0) {
      if (r->dir[d].in_pipe == 0) pipe_give(&r->dir[d].pipe);
      else pipe_discard(&r->dir[d].pipe);
    }
  }
  report(r, outcome, err, side);
  free_relay(r);
}

static void fail(relay *r, int err, int side) {
  finish(r, OUTCOME_RESET, err, side, 3);
}

static bool is_again(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}

/* Moves what it can in direction d. Returns false once the relay has finished. */
static bool pump(relay *r, int d) {
  direction *dir = &r->dir[d];
  int src = r->fd[d], dst = r->fd[1 - d];
  bool source_emptied = false;
  for (;;) {
    if (dir->head_off < dir->head_len) {
      ssize_t n = send(dst, dir->head + dir->head_off, dir->head_len - dir->head_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (is_again(errno)) return true;
        fail(r, errno, 1 - d);
        return false;
      }
      dir->head_off += (uint32_t)n;
      dir->bytes += (uint64_t)n;
      r->last_activity = loop_now(r);
      continue;
    }
    if (dir->in_pipe > 0) {
      /* No SPLICE_F_MORE after a full read (to merge the short tail past loopback's MSS into the next
       * pipeful): it needs a push when the source runs dry, and cost throughput (0.74-0.90x) for no
       * CPU gain in an interleaved A/B. */
      ssize_t n = splice(dir->pipe.fd[0], NULL, dst, NULL, dir->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (is_again(errno)) return true; /* wait for the destination to drain */
        fail(r, errno, 1 - d);
        return false;
      }
      dir->in_pipe -= (uint32_t)n;
      dir->bytes += (uint64_t)n;
      r->last_activity = loop_now(r);
      continue;
    }
    if (dir->eof) {
      if (!dir->shut) {
        dir->shut = true;
        if (shutdown(dst, SHUT_WR) != 0 && errno != ENOTCONN) {
          fail(r, errno, 1 - d);
          return false;
        }
      }
      return true;
    }
    if (dir->pipe.fd[0] < 0 && !pipe_take(&dir->pipe, dir->bulk)) {
      /* The relay's own failure (EMFILE, ENFILE), not either side's: both are reset all the same. */
      finish(r, OUTCOME_NO_PIPE, errno, 0, 3);
      return false;
    }
    if (source_emptied) {
      pipe_give(&dir->pipe); /* idle connections hold no pipe */
      return true;
    }
    /* A pooled large pipe taken by a direction that is not bulk (the pool had no other) is still
     * filled a default pipe's worth at a time: larger splices towards the client cost more. */
    size_t want = dir->bulk || dir->pipe.capacity < PIPE_DEFAULT_BYTES ? dir->pipe.capacity : PIPE_DEFAULT_BYTES;
    ssize_t n = splice(src, NULL, dir->pipe.fd[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      dir->in_pipe = (uint32_t)n;
      /* Less than asked for: the socket most likely has nothing more now. Not asking again saves the
       * read that would fail with EAGAIN; if more did arrive, level-triggered epoll reports it. After
       * a full read it does ask again, even where that mostly fails (8 streams down): going through
       * epoll instead cost more (daemon 1.12x CPU/GiB, A/B of that change). */
      source_emptied = (size_t)n < want;
      /* Only towards the upstream: the client is a local socket (loopback, or a LAN host), whose
       * receive path runs in the sender's context, and larger splices to it only moved that work
       * into the daemon (8 streams down: 1.5x the CPU per GiB in scripts/bench/ab-bulk.ts). */
      if (!source_emptied && d == UP) {
        dir->bulk = true; /* fewer, larger splices from now on */
        pipe_grow(&dir->pipe);
      }
      continue;
    }
    if (n == 0) {
      dir->eof = true;
      /* Nothing more comes this way: a half-closed connection holds no pipe either. */
      pipe_give(&dir->pipe);
      /* v2ray answers success before dialing and ssh -D may close at once: an upstream that ends
       * without a single byte while the client still talks is a failed connect, not a clean end. */
      uint64_t age = loop_now(r) - r->started;
      if (d == DOWN && dir->bytes == 0 && !r->dir[UP].eof && age < r->early_close_ms && r->dir[UP].bytes < r->early_close_max_up) {
        finish(r, OUTCOME_UPSTREAM_CLOSED_EARLY, 0, UPSTREAM, 1 << CLIENT);
        return false;
      }
      continue;
    }
    if (is_again(errno)) {
      pipe_give(&dir->pipe); /* idle connections hold no pipe */
      return true;
    }
    fail(r, errno, d);
    return false;
  }
}

static bool wants_write(const direction *dir) {
  return dir->in_pipe > 0 || dir->head_off < dir->head_len;
}

static void on_ready(fd_watch *w, int status, int events);

static void relay_poll(relay *r) {
  for (int i = 0; i < 2; i++) {
    int events = 0;
    const direction *out = &r->dir[i];
    const direction *in = &r->dir[1 - i];
    if (!out->eof && !wants_write(out)) events |= UV_READABLE;
    if (wants_write(in)) events |= UV_WRITABLE;
    if (!fd_watch_set(r->loop, &r->watch[i], events)) {
      fail(r, errno, i);
      return;
    }
  }
}

/* Pumps the directions in `dirs` (bit d for direction d), then waits for what they need next. */
static void step(relay *r, int dirs) {
  for (int d = 0; d < 2; d++) {
    if ((dirs & (1 << d)) && !pump(r, d)) return;
  }
  if (r->dir[UP].shut && r->dir[DOWN].shut) {
    finish(r, OUTCOME_CLOSED, 0, 0, 0);
    return;
  }
  relay_poll(r);
}

static void on_ready(fd_watch *w, int status, int events) {
  relay *r = w->data;
  if (r->finished) return;
  int side = w == &r->watch[CLIENT] ? CLIENT : UPSTREAM;
  if (status < 0) {
    /* libuv reports POLLERR (a reset) alone and stops this poll, even with bytes queued ahead of
     * it: a peer that sends its last bytes and resets at once would lose them. Pass them on first:
     * the read after them fails with the error, and that resets both sides. */
    if (!pump(r, side)) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(r->fd[side], SOL_SOCKET, SO_ERROR, &err, &len);
    fail(r, err != 0 ? err : -status, side);
    return;
  }
  /* Readable: bytes for the direction that reads this side; writable: room for the one that writes it. */
  step(r, ((events & UV_READABLE) ? 1 << side : 0) | ((events & UV_WRITABLE) ? 1 << (1 - side) : 0));
}

/* Due idle_ms after the relay's start or its last activity as it stood then: idle since, or due again later. */
static void on_idle(deadline *idle) {
  relay *r = (relay *)((char *)idle - offsetof(relay, idle));
  if (r->finished) return;
  uint64_t now = loop_now(r);
  if (now - r->last_activity >= r->idle_ms || !deadline_start(r->loop, idle, r->last_activity + r->idle_ms))
    finish(r, OUTCOME_IDLE, 0, 0, 0);
}

static bool copy_head(const void *data, size_t len, direction *dir) {
  if (len == 0) return true;
  if (len > UINT32_MAX) {
    errno = ENOMEM;
    return false;
  }
  dir->head = malloc(len);
  if (dir->head == NULL) return false;
  memcpy(dir->head, data, len);
  dir->head_len = (uint32_t)len;
  return true;
}

/* A Buffer's bytes, or none for anything else (null). */
static void buffer_bytes(napi_env env, napi_value value, const void **data, size_t *len) {
  bool is_buffer = false;
  void *bytes = NULL;
  *len = 0;
  napi_is_buffer(env, value, &is_buffer);
  if (is_buffer) napi_get_buffer_info(env, value, &bytes, len);
  *data = bytes;
}

/* A start that failed: the fds leave the set (before close: a dup elsewhere would keep them in it) and close. */
static void drop_fds(uv_loop_t *loop, const int fds[2], fd_watch *upstream_watch) {
  if (upstream_watch != NULL) fd_watch_set(loop, upstream_watch, 0);
  close(fds[0]);
  close(fds[1]);
}

napi_value splice_start(napi_env env, const int fds[2], const splice_heads *heads, fd_watch *upstream_watch, int64_t idle_ms, int64_t early_close_ms,
                        int64_t early_close_max_up, int32_t token) {
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || on_done == NULL) {
    drop_fds(loop, fds, upstream_watch);
    napi_throw_error(env, "SG_ERR_SPLICE_STATE", "spliceRelay: spliceRelayOnDone was not called");
    return NULL;
  }
  relay *r = calloc(1, sizeof *r);
  if (r == NULL) {
    drop_fds(loop, fds, upstream_watch);
    napi_throw_error(env, "ENOMEM", "spliceRelay: out of memory");
    return NULL;
  }
  r->env = env;
  r->token = token;
  r->fd[CLIENT] = fds[CLIENT];
  r->fd[UPSTREAM] = fds[UPSTREAM];
  r->idle_ms = (uint64_t)idle_ms;
  r->early_close_ms = (uint64_t)early_close_ms;
  r->early_close_max_up = (uint64_t)early_close_max_up;
  for (int d = 0; d < 2; d++) r->dir[d].pipe.fd[0] = r->dir[d].pipe.fd[1] = -1;
  napi_value handle = NULL;
  bool copied = copy_head(heads->down, heads->down_len, &r->dir[DOWN]) && copy_head(heads->up, heads->up_len, &r->dir[UP]);
  if (!copied || (r->handle = slot_put(&relays, r)) < 0) napi_throw_error(env, "ENOMEM", "spliceRelay: out of memory");
  else if (napi_create_int32(env, r->handle, &handle) != napi_ok) {
    slot_release(&relays, r->handle);
    napi_throw_error(env, "ERR_NAPI", "spliceRelay: Node-API call failed");
    handle = NULL;
  }
  if (handle == NULL) {
    drop_fds(loop, r->fd, upstream_watch);
    free_relay(r);
    return NULL;
  }
  r->loop = loop;
  for (int i = 0; i < 2; i++) fd_watch_init(&r->watch[i], r->fd[i], on_ready, r);
  if (upstream_watch != NULL) fd_watch_take(&r->watch[UPSTREAM], upstream_watch);
  r->sole_owner = upstream_watch != NULL;
  deadline_init(&r->idle, on_idle);
  r->last_activity = r->started = uv_now(loop);
  if (r->idle_ms > 0 && !deadline_start(loop, &r->idle, r->started + r->idle_ms)) {
    finish(r, OUTCOME_STOPPED, 0, 0, 3); /* out of memory for the heap: as if stopped at once */
    return handle;
  }
  /* A dialled upstream has just been sent its request: a read now would almost always find nothing
     (EAGAIN). It is already watched for reading, and anything it did send waits in its socket. */
  step(r, upstream_watch != NULL && r->dir[DOWN].head_len == 0 ? 1 << UP : 1 << UP | 1 << DOWN);
  return handle;
}

napi_value SpliceRelay(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "spliceRelay(clientFd, upstreamFd, headDown, headUp, idleMs, earlyCloseMs, earlyCloseMaxUp, token)");
    return NULL;
  }
  int32_t fds[2], token;
  int64_t idle_ms, early_close_ms, early_close_max_up;
  if (napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok || napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok ||
      napi_get_value_int64(env, argv[4], &idle_ms) != napi_ok || napi_get_value_int64(env, argv[5], &early_close_ms) != napi_ok ||
      napi_get_value_int64(env, argv[6], &early_close_max_up) != napi_ok || napi_get_value_int32(env, argv[7], &token) != napi_ok ||
      fds[0] < 0 || fds[1] < 0 || idle_ms < 0 || early_close_ms < 0 || early_close_max_up < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "spliceRelay: bad arguments");
    return NULL;
  }
  splice_heads heads;
  buffer_bytes(env, argv[2], &heads.down, &heads.down_len);
  buffer_bytes(env, argv[3], &heads.up, &heads.up_len);
  int own[2];
  for (int i = 0; i < 2; i++) {
    own[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
    if (own[i] < 0) {
      int err = errno;
      if (i == 1) close(own[0]);
      char message[96];
      snprintf(message, sizeof message, "dup %s", strerror(err));
      napi_throw_error(env, err == EMFILE ? "EMFILE" : "EDUP", message);
      return NULL;
    }
  }
  return splice_start(env, own, &heads, NULL, idle_ms, early_close_ms, early_close_max_up, token);
}

napi_value SpliceRelayStop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t handle;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &handle) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "spliceRelayStop(handle)");
    return NULL;
  }
  relay *r = slot_get(&relays, handle);
  if (r != NULL) finish(r, OUTCOME_STOPPED, 0, 0, 3); /* NULL: long over */
  return NULL;
}

napi_value SpliceRelayOnDone(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "spliceRelayOnDone(onDone)");
    return NULL;
  }
  if (on_done != NULL) napi_delete_reference(env, on_done);
  if (napi_create_reference(env, argv[0], 1, &on_done) != napi_ok) {
    on_done = NULL;
    napi_throw_error(env, "ERR_NAPI", "spliceRelayOnDone: Node-API call failed");
  }
  return NULL;
}
