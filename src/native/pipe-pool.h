#ifndef SOCKSGATE_PIPE_POOL_H
#define SOCKSGATE_PIPE_POOL_H

#include <stdbool.h>

/*
 * The splice relay's pipes: a relay holds one only while bytes are in flight, so an idle connection
 * costs no pipe, and a busy one takes a pooled pipe instead of two pipe2/close calls.
 */

/* A nonblocking cloexec pipe into p, from the pool or new; false with errno set. */
bool pipe_take(int p[2]);
/* Returns an EMPTY pipe to the pool (or closes it when the pool is full); p becomes {-1, -1}. */
void pipe_give(int p[2]);

#endif
