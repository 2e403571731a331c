#ifndef SOCKSGATE_DEADLINES_H
#define SOCKSGATE_DEADLINES_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/*
 * Many deadlines on one libuv timer: a binary heap of entries embedded in their owners, ordered by
 * when they fall due. An entry costs its owner 24 bytes instead of a uv_timer_t (152), and the
 * heap one pointer: thousands of idle relays each waiting out an idle timeout need no timer
 * handle apiece. The timer is unreferenced: pending deadlines alone keep no loop alive.
 */
typedef struct deadline {
  uint64_t due;                         /* uv_now() time at which `expired` is called */
  void (*expired)(struct deadline *);   /* may start the entry again */
  uint32_t index;                       /* its place in the heap; DEADLINE_IDLE when not waiting */
} deadline;

#define DEADLINE_IDLE UINT32_MAX

/* An entry that waits for nothing yet. */
void deadline_init(deadline *d, void (*expired)(deadline *));
/* Waits until uv_now(loop) ≥ due (replacing what it waited for); false when out of memory. */
bool deadline_start(uv_loop_t *loop, deadline *d, uint64_t due);
/* Waits for nothing (a no-op when not waiting). */
void deadline_stop(deadline *d);

#endif
