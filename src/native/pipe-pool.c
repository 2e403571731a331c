/* A pool of empty pipes for the splice relay, default and large ones together (see pipe-pool.h). */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "pipe-pool.h"

#define PIPE_POOL_MAX 64

static spliced_pipe pool[PIPE_POOL_MAX];
static int pool_size;
static int large_pipes; /* in existence: pooled or held */

static bool is_large(const spliced_pipe *p) {
  return p->capacity >= PIPE_BULK_BYTES;
}

static void drop(spliced_pipe *p) {
  p->fd[0] = p->fd[1] = -1;
  p->capacity = 0;
}

/*
 * One pool for both kinds, so the relays hold no more pipes than before there were large ones: a
 * take prefers the kind asked for and falls back to the other before it makes a new pipe.
 */
bool pipe_take(spliced_pipe *p, bool large) {
  if (pool_size > 0) {
    int at = pool_size - 1;
    for (int i = pool_size - 1; i >= 0; i--) {
      if (is_large(&pool[i]) == large) {
        at = i;
        break;
      }
    }
    *p = pool[at];
    pool[at] = pool[--pool_size];
    return true;
  }
  if (pipe2(p->fd, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  int capacity = fcntl(p->fd[1], F_GETPIPE_SZ);
  p->capacity = capacity > 0 ? (size_t)capacity : PIPE_DEFAULT_BYTES;
  return true;
}

void pipe_discard(spliced_pipe *p) {
  if (is_large(p)) large_pipes--;
  close(p->fd[0]);
  close(p->fd[1]);
  drop(p);
}

/* Only empty pipes come back, so a pooled pipe never carries one connection's bytes to another. */
void pipe_give(spliced_pipe *p) {
  if (pool_size < PIPE_POOL_MAX) {
    pool[pool_size++] = *p;
    drop(p);
  } else {
    pipe_discard(p);
  }
}

void pipe_grow(spliced_pipe *p) {
  if (is_large(p) || large_pipes >= PIPE_BULK_MAX) return;
  int capacity = fcntl(p->fd[1], F_SETPIPE_SZ, PIPE_BULK_BYTES);
  if (capacity < PIPE_BULK_BYTES) return; /* EPERM past the user's pipe pages, or fs.pipe-max-size lower */
  p->capacity = (size_t)capacity;
  large_pipes++;
}
