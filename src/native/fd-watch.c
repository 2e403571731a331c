/* One epoll set for the relays' sockets, polled by libuv as one fd (see fd-watch.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fd-watch.h"

#define BATCH 256
/* Beside UV_READABLE | UV_WRITABLE in a watch's events: the set's entry names another watch (fd_watch_take). */
#define TAKEN 0x100

static int epfd = -1;
static uv_poll_t set_poll;
static unsigned watching; /* fds in the set: the set's poll keeps the loop alive only while some are */
static bool dispatching;
static void **to_free;
static size_t to_free_len, to_free_cap;

static void on_set_readable(uv_poll_t *handle, int status, int events) {
  struct epoll_event ready[BATCH];
  int n = epoll_wait(epfd, ready, BATCH, 0);
  dispatching = true;
  for (int i = 0; i < n; i++) {
    fd_watch *w = ready[i].data.ptr;
    uint32_t got = ready[i].events;
    if (w->events == 0) continue; /* left the set earlier in this batch (its owner may have ended) */
    if (got & EPOLLERR) {
      w->ready(w, UV_EBADF, 0);
      continue;
    }
    /* A hang-up wakes whatever it waits for, as libuv reports it: the read or write then says what happened. */
    int events = 0;
    if (got & (EPOLLIN | EPOLLHUP)) events |= w->events & UV_READABLE;
    if (got & (EPOLLOUT | EPOLLHUP)) events |= w->events & UV_WRITABLE;
    if (events != 0) w->ready(w, 0, events);
  }
  dispatching = false;
  for (size_t i = 0; i < to_free_len; i++) free(to_free[i]);
  to_free_len = 0;
}

bool fd_watch_open(uv_loop_t *loop) {
  if (epfd >= 0) return true;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return false;
  if (uv_poll_init(loop, &set_poll, epfd) != 0 || uv_poll_start(&set_poll, UV_READABLE, on_set_readable) != 0) {
    close(epfd);
    epfd = -1;
    errno = ENOMEM;
    return false;
  }
  uv_unref((uv_handle_t *)&set_poll);
  return true;
}

void fd_watch_init(fd_watch *w, int fd, void (*ready)(fd_watch *, int, int), void *data) {
  w->fd = fd;
  w->events = 0;
  w->ready = ready;
  w->data = data;
}

bool fd_watch_set(uv_loop_t *loop, fd_watch *w, int events) {
  if (events == w->events) return true;
  if (!fd_watch_open(loop)) return false;
  struct epoll_event e = {.events = ((events & UV_READABLE) ? EPOLLIN : 0) | ((events & UV_WRITABLE) ? EPOLLOUT : 0), .data.ptr = w};
  int op = events == 0 ? EPOLL_CTL_DEL : w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  /* A failed removal leaves nothing in the set either: counted out all the same. */
  if (epoll_ctl(epfd, op, w->fd, &e) != 0 && op != EPOLL_CTL_DEL) return false;
  if (w->events == 0 && watching++ == 0) uv_ref((uv_handle_t *)&set_poll);
  if (events == 0 && --watching == 0) uv_unref((uv_handle_t *)&set_poll);
  w->events = events;
  return true;
}

void fd_watch_take(fd_watch *to, fd_watch *from) {
  to->events = from->events == 0 ? 0 : from->events | TAKEN;
  from->events = 0; /* an event of this batch for `from` is dropped; `to` hears of it at the next wait (level-triggered) */
}

void fd_watch_free_later(void *p) {
  if (!dispatching) {
    free(p);
    return;
  }
  if (to_free_len == to_free_cap) {
    size_t cap = to_free_cap == 0 ? 64 : to_free_cap * 2;
    void **grown = realloc(to_free, cap * sizeof *grown);
    if (grown == NULL) return; /* leaks one relay rather than freeing it under the batch */
    to_free = grown;
    to_free_cap = cap;
  }
  to_free[to_free_len++] = p;
}
