#ifndef SOCKSGATE_SLOT_TABLE_H
#define SOCKSGATE_SLOT_TABLE_H

#include <stdint.h>

/*
 * Live native objects named to JS by a small integer instead of an external: JS keeps a Smi, and a
 * live object costs no external, finalizer or reference on either heap. A handle is the slot's
 * index and its generation, so a handle kept past its object's end names nothing, not the slot's
 * next tenant. Slots are reused; the table grows to the most objects live at once.
 */
typedef struct {
  struct slot *slots;
  uint32_t capacity, free_head;
} slot_table;

/* The object's handle (0 ≤ handle < 2^30), or -1 when no slot can be had (out of memory, 2^20 live). */
int32_t slot_put(slot_table *table, void *target);
/* The object behind a handle, or NULL once it is released (or for a handle never given). */
void *slot_get(const slot_table *table, int32_t handle);
/* The object has ended: its handle names nothing from now on. */
void slot_release(slot_table *table, int32_t handle);

#endif
