#ifndef SOCKSGATE_SPLICE_H
#define SOCKSGATE_SPLICE_H

#include <node_api.h>
#include <stdbool.h>

#include "fd-watch.h"

#include <stddef.h>
#include <stdint.h>

/* spliceRelayOnDone, spliceRelay, spliceRelayStop (see splice.c). */
napi_value SpliceRelayOnDone(napi_env env, napi_callback_info info);
napi_value SpliceRelay(napi_env env, napi_callback_info info);
napi_value SpliceRelayStop(napi_env env, napi_callback_info info);

typedef struct {
  const void *down; /* bytes for the client before any spliced ones */
  size_t down_len;
  const void *up; /* bytes for the upstream before any spliced ones */
  size_t up_len;
} splice_heads;

/*
 * Starts relaying fds[0] (client) ⇄ fds[1] (upstream), which it owns from here on (closed on
 * failure too); the heads are copied; its end is reported with `token`. upstream_watch (or NULL)
 * is the upstream's watch of its previous owner, which the relay takes over (fd_watch_take) or,
 * when it fails, ends; with it, no other descriptor shares either socket (a native dial's), so
 * their closes leave the epoll set without an epoll_ctl. Returns the handle spliceRelayStop takes,
 * or NULL after throwing.
 */
napi_value splice_start(napi_env env, const int fds[2], const splice_heads *heads, fd_watch *upstream_watch, int64_t idle_ms, int64_t early_close_ms,
                        int64_t early_close_max_up, int32_t token);

#endif
