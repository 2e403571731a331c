/* A small pool of empty pipes for the splice relay (see pipe-pool.h). */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "pipe-pool.h"

#define PIPE_POOL_MAX 64

static int pipe_pool[PIPE_POOL_MAX][2];
static int pipe_pool_size = 0;

bool pipe_take(int p[2]) {
  if (pipe_pool_size > 0) {
    pipe_pool_size--;
    p[0] = pipe_pool[pipe_pool_size][0];
    p[1] = pipe_pool[pipe_pool_size][1];
    return true;
  }
  return pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0;
}

/* Only empty pipes come back, so a pooled pipe never carries one connection's bytes to another. */
void pipe_give(int p[2]) {
  if (pipe_pool_size < PIPE_POOL_MAX) {
    pipe_pool[pipe_pool_size][0] = p[0];
    pipe_pool[pipe_pool_size][1] = p[1];
    pipe_pool_size++;
  } else {
    close(p[0]);
    close(p[1]);
  }
  p[0] = p[1] = -1;
}
