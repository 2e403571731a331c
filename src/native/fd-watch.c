/* One epoll set for the relays' sockets, polled by libuv as one fd (see fd-watch.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fd-watch.h"

#define BATCH 256

/*
 * The set's entries name an fd and the generation of its entry, not a watch: the watch is looked up
 * here, so a new owner takes an entry over by changing this table alone (fd_watch_take), without an
 * epoll_ctl. The generation tells an event of an entry already removed in this batch (its fd number
 * closed and reused since) from the new entry's.
 */
typedef struct {
  fd_watch *watch; /* NULL: not in the set */
  uint32_t generation;
} entry;

static entry *entries;
static size_t entries_len;

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
    uint64_t key = ready[i].data.u64;
    int fd = (int)(uint32_t)key;
    fd_watch *w = entries[fd].watch;
    uint32_t got = ready[i].events;
    /* Left the set earlier in this batch (its owner may have ended), perhaps with its fd number now another's. */
    if (w == NULL || entries[fd].generation != (uint32_t)(key >> 32)) continue;
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

static bool entries_fit(int fd) {
  if ((size_t)fd < entries_len) return true;
  size_t len = entries_len == 0 ? 1024 : entries_len;
  while (len <= (size_t)fd) len *= 2;
  entry *grown = realloc(entries, len * sizeof *grown);
  if (grown == NULL) return false;
  memset(grown + entries_len, 0, (len - entries_len) * sizeof *grown);
  entries = grown;
  entries_len = len;
  return true;
}

bool fd_watch_set(uv_loop_t *loop, fd_watch *w, int events) {
  if (events == w->events) return true;
  if (!fd_watch_open(loop)) return false;
  if (!entries_fit(w->fd)) {
    errno = ENOMEM;
    return false;
  }
  entry *at = &entries[w->fd];
  int op = events == 0 ? EPOLL_CTL_DEL : w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  uint32_t generation = op == EPOLL_CTL_ADD ? at->generation + 1 : at->generation;
  struct epoll_event e = {.events = ((events & UV_READABLE) ? EPOLLIN : 0) | ((events & UV_WRITABLE) ? EPOLLOUT : 0),
                          .data.u64 = (uint64_t)generation << 32 | (uint32_t)w->fd};
  /* A failed removal leaves nothing in the set either: counted out all the same. */
  if (epoll_ctl(epfd, op, w->fd, &e) != 0 && op != EPOLL_CTL_DEL) return false;
  at->generation = generation;
  at->watch = events == 0 ? NULL : w;
  if (w->events == 0 && watching++ == 0) uv_ref((uv_handle_t *)&set_poll);
  if (events == 0 && --watching == 0) uv_unref((uv_handle_t *)&set_poll);
  w->events = events;
  return true;
}

void fd_watch_closing(fd_watch *w) {
  if (w->events == 0) return;
  entries[w->fd].watch = NULL; /* an event of this batch for the fd (or its next owner's) is not this watch's */
  if (--watching == 0) uv_unref((uv_handle_t *)&set_poll);
  w->events = 0;
}

void fd_watch_take(fd_watch *to, fd_watch *from) {
  to->events = from->events;
  if (from->events != 0) entries[from->fd].watch = to; /* an event of this batch for the fd goes to `to` */
  from->events = 0;
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
