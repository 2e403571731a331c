#ifndef SOCKSGATE_PIPE_POOL_H
#define SOCKSGATE_PIPE_POOL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The splice relay's pipes: a relay holds one only while bytes are in flight, so an idle connection
 * costs no pipe, and a busy one takes a pooled pipe instead of two pipe2/close calls.
 *
 * A direction whose splice filled its pipe carries a bulk transfer: pipe_grow makes the pipe
 * PIPE_BULK_BYTES, and the direction asks for a large one each time it takes a pipe again, so the
 * transfer moves in a tenth of the splices (strace -c, scripts/bench/ab-bulk.ts --strace). At most PIPE_BULK_MAX large pipes
 * exist: the kernel counts pipe pages per user, and a user without CAP_SYS_RESOURCE
 * past fs.pipe-user-pages-soft (16384 pages) gets 2-page pipes from then on, so the large ones stay
 * at a quarter of that. A socket that receives small packets (a 1500-byte MTU link) fills the 16
 * slots of a default pipe with less than 64 KiB and keeps a default pipe.
 *
 * The size is weighed on the whole path, not the daemon alone: larger writes make Dante and the
 * iperf3 server spend more per GiB (about 1.2x), but the daemon spends a third and the sender less,
 * so the socksifier + Dante + both iperf3 ends fall to 0.93x (1 stream) and 0.84x (8 streams)
 * of what default pipes cost; 256 KiB pipes sat between (ab-bulk.ts, 13 interleaved rounds).
 */
#define PIPE_BULK_BYTES (1 << 20)
/* The kernel's default pipe (16 pages of 4 KiB): what a direction that is not bulk splices at most. */
#define PIPE_DEFAULT_BYTES 65536
#define PIPE_BULK_MAX 16

typedef struct {
  int fd[2]; /* {-1, -1}: none held */
  size_t capacity;
} spliced_pipe;

/* A nonblocking cloexec pipe, pooled (of the kind asked for if the pool has one) or new; false with errno set. */
bool pipe_take(spliced_pipe *p, bool large);
/* Returns an EMPTY pipe to the pool (or closes it when the pool is full); p holds none after. */
void pipe_give(spliced_pipe *p);
/* Closes a pipe that still holds bytes (not clean enough to pool); p holds none after. */
void pipe_discard(spliced_pipe *p);
/* Makes p PIPE_BULK_BYTES if fewer than PIPE_BULK_MAX large pipes exist and the kernel allows it; else leaves it. */
void pipe_grow(spliced_pipe *p);

#endif
