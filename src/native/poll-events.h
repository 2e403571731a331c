#ifndef SOCKSGATE_POLL_EVENTS_H
#define SOCKSGATE_POLL_EVENTS_H

#include <uv.h>

/*
 * Makes `poll` wait for `events` (stops it for 0) unless *current, what it waits for now, already
 * is that: uv_poll_start takes the fd out of epoll and puts it back even when nothing changed.
 */
void poll_events(uv_poll_t *poll, int *current, int events, uv_poll_cb cb);

#endif
