#ifndef SOCKSGATE_ADDON_H
#define SOCKSGATE_ADDON_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* Throws Error("<syscall> <CODE> (<strerror>)") with code, errno and syscall set. Returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/* Where a REDIRECTed or DNATed connection was headed, from conntrack (SO_ORIGINAL_DST, or
   IP6T_SO_ORIGINAL_DST for a native IPv6 one); 0 or the errno (ENOENT: not NATed). */
int original_dst(int fd, bool ipv6, struct sockaddr_storage *ss, socklen_t *len);

/* A nonblocking cloexec TCP socket of `family` with TCP_NODELAY and SO_MARK (unless 0), or -1
   after throwing. */
int marked_socket(napi_env env, int family, uint32_t mark);

/*
 * Makes `poll` wait for `events` (stops it for 0) unless *current, what it waits for now, already
 * is that: uv_poll_start takes the fd out of epoll and puts it back even when nothing changed.
 */
void poll_events(uv_poll_t *poll, int *current, int events, uv_poll_cb cb);

/*
 * The async context every per-connection callback (dial events, relay ends) runs in: one for the
 * module, not one per connection, which would cost two global handles and an object per flow.
 */
napi_async_context addon_async_context(void);

/*
 * A JS handle (an external) to a native object that frees itself when it ends, not when the garbage
 * collector gets to the handle: the handle points at a small box, and the box at the object until
 * the object detaches. A burst of connections then leaves nothing native behind for a GC to free.
 */
typedef struct handle_box {
  void *target;
  struct handle_box **back; /* the owner's pointer to this box, cleared when the handle is collected */
} handle_box;

/* Returns the external (NULL after throwing) and stores its box in *slot. */
napi_value handle_box_new(napi_env env, void *target, handle_box **slot);
/* The owner is going away: the handle now points at nothing. */
void handle_box_detach(handle_box *box);
/* The object behind a handle, or NULL once it is gone; throws (and returns NULL) for a non-handle. */
void *handle_box_target(napi_env env, napi_value value, bool *ok);

#endif
