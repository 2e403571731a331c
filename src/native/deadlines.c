/* Deadlines on one timer (see deadlines.h). */
#include <stdlib.h>

#include "deadlines.h"

static deadline **heap;
static uint32_t heap_len, heap_cap;
static uv_timer_t timer;
static bool timer_ready;

static void place(uint32_t i, deadline *d) {
  heap[i] = d;
  d->index = i;
}

static void sift_up(uint32_t i) {
  deadline *d = heap[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (heap[parent]->due <= d->due) break;
    place(i, heap[parent]);
    i = parent;
  }
  place(i, d);
}

static void sift_down(uint32_t i) {
  deadline *d = heap[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= heap_len) break;
    if (child + 1 < heap_len && heap[child + 1]->due < heap[child]->due) child++;
    if (d->due <= heap[child]->due) break;
    place(i, heap[child]);
    i = child;
  }
  place(i, d);
}

static void remove_at(uint32_t i) {
  heap[i]->index = DEADLINE_IDLE;
  deadline *last = heap[--heap_len];
  if (i == heap_len) return;
  place(i, last);
  sift_up(i);
  sift_down(last->index);
}

static void on_timer(uv_timer_t *t);

/* The timer waits for the earliest entry, or not at all. */
static void arm(void) {
  if (heap_len == 0) {
    uv_timer_stop(&timer);
    return;
  }
  uint64_t now = uv_now(uv_handle_get_loop((uv_handle_t *)&timer));
  uint64_t due = heap[0]->due;
  uv_timer_start(&timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  uint64_t now = uv_now(uv_handle_get_loop((uv_handle_t *)t));
  /* Each call may start entries again (later, or already due) or stop others. */
  while (heap_len > 0 && heap[0]->due <= now) {
    deadline *d = heap[0];
    remove_at(0);
    d->expired(d);
  }
  arm();
}

void deadline_init(deadline *d, void (*expired)(deadline *)) {
  d->due = 0;
  d->expired = expired;
  d->index = DEADLINE_IDLE;
}

bool deadline_start(uv_loop_t *loop, deadline *d, uint64_t due) {
  if (!timer_ready) {
    if (uv_timer_init(loop, &timer) != 0) return false;
    uv_unref((uv_handle_t *)&timer);
    timer_ready = true;
  }
  if (d->index != DEADLINE_IDLE) remove_at(d->index);
  if (heap_len == heap_cap) {
    uint32_t cap = heap_cap == 0 ? 256 : heap_cap * 2;
    deadline **grown = realloc(heap, cap * sizeof *grown);
    if (grown == NULL) return false;
    heap = grown;
    heap_cap = cap;
  }
  d->due = due;
  place(heap_len++, d);
  sift_up(heap_len - 1);
  if (heap[0] == d) arm();
  return true;
}

void deadline_stop(deadline *d) {
  if (d->index == DEADLINE_IDLE) return;
  bool was_first = d->index == 0;
  remove_at(d->index);
  if (was_first) arm();
}
