/* Restarting a poll only when what it waits for changes (see poll-events.h): used by the relay and the dialer. */
#include <uv.h>

#include "poll-events.h"

void poll_events(uv_poll_t *poll, int *current, int events, uv_poll_cb cb) {
  if (events == *current) return;
  *current = events;
  if (events == 0) uv_poll_stop(poll);
  else uv_poll_start(poll, events, cb);
}
