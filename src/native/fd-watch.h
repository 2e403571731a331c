#ifndef SOCKSGATE_FD_WATCH_H
#define SOCKSGATE_FD_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/*
 * Readiness of many sockets through one epoll set of our own, which libuv polls as a single fd:
 * level-triggered like uv_poll, but a watch costs its owner 24 bytes instead of a uv_poll_t (160)
 * (and the set 16 bytes per fd number), changing what it waits for is one epoll_ctl (uv_poll_start
 * is two, plus a failing one on a fresh handle), and handing a socket to a new owner none. An owner
 * that ends while events are being dispatched is freed after the batch (fd_watch_free_later), so
 * nothing it calls after ending reaches freed memory.
 */
typedef struct fd_watch {
  int fd;
  int events; /* UV_READABLE | UV_WRITABLE waited for now; 0: not in the set */
  /* status < 0 (UV_EBADF): the socket has an error (read SO_ERROR), as uv_poll reports it. */
  void (*ready)(struct fd_watch *w, int status, int events);
  void *data;
} fd_watch;

/*
 * Opens the set (idempotent; fd_watch_set opens it too). Called when the addon loads, so its one fd
 * is there from the start instead of appearing at the first relay.
 */
bool fd_watch_open(uv_loop_t *loop);
void fd_watch_init(fd_watch *w, int fd, void (*ready)(fd_watch *, int, int), void *data);
/* Waits for `events` (none: leaves the set); one epoll_ctl when it changes, none otherwise. False with errno on failure. */
bool fd_watch_set(uv_loop_t *loop, fd_watch *w, int events);
/*
 * `to` (a watch of the same fd) takes over `from`'s place in the set, waiting for what `from` waited
 * for, and `from` for nothing: no epoll_ctl, where leaving the set and joining it again would be
 * two. A new owner of a socket thus inherits it. An event for the fd still being dispatched in this
 * batch goes to `to`.
 */
void fd_watch_take(fd_watch *to, fd_watch *from);
/*
 * Leaves the set by the close(2) the caller makes next, without an epoll_ctl: closing a socket's
 * last descriptor takes it out of every epoll set. Only for a socket whose file no other descriptor
 * shares (no dup, not Node's): one that lives on elsewhere would stay in the set; fd_watch_set(w, 0)
 * then.
 */
void fd_watch_closing(fd_watch *w);
/* Frees p with free(3) now, or after the batch of events being dispatched. */
void fd_watch_free_later(void *p);

#endif
