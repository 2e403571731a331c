#ifndef SOCKSGATE_HANDLE_BOX_H
#define SOCKSGATE_HANDLE_BOX_H

#include <node_api.h>
#include <stdbool.h>

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
