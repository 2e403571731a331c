/* Handles as slot indexes with a generation (see slot-table.h). */
#include <stdlib.h>

#include "slot-table.h"

#define INDEX_BITS 20
#define INDEX_MASK ((1u << INDEX_BITS) - 1)
#define GENERATION_MASK 0x3ffu /* 10 bits: a handle stays under 2^30, a Smi on every V8 build */
#define NO_SLOT UINT32_MAX

struct slot {
  void *target;     /* NULL: free */
  uint32_t generation;
  uint32_t next_free;
};

static int32_t handle_of(const struct slot *s, uint32_t index) {
  return (int32_t)((s->generation << INDEX_BITS) | index);
}

static int grow(slot_table *t) {
  uint32_t capacity = t->capacity == 0 ? 256 : t->capacity * 2;
  if (capacity > INDEX_MASK + 1) return 0;
  struct slot *slots = realloc(t->slots, capacity * sizeof *slots);
  if (slots == NULL) return 0;
  /* The new slots join the free list in index order, ahead of nothing: the list was empty. */
  for (uint32_t i = t->capacity; i < capacity; i++) slots[i] = (struct slot){NULL, 0, i + 1 < capacity ? i + 1 : NO_SLOT};
  t->free_head = t->capacity;
  t->slots = slots;
  t->capacity = capacity;
  return 1;
}

int32_t slot_put(slot_table *t, void *target) {
  if (t->capacity == 0) t->free_head = NO_SLOT;
  if (t->free_head == NO_SLOT && !grow(t)) return -1;
  uint32_t index = t->free_head;
  struct slot *s = &t->slots[index];
  t->free_head = s->next_free;
  s->target = target;
  return handle_of(s, index);
}

void *slot_get(const slot_table *t, int32_t handle) {
  if (handle < 0) return NULL;
  uint32_t index = (uint32_t)handle & INDEX_MASK;
  if (index >= t->capacity) return NULL;
  const struct slot *s = &t->slots[index];
  return s->target != NULL && handle_of(s, index) == handle ? s->target : NULL;
}

void slot_release(slot_table *t, int32_t handle) {
  if (slot_get(t, handle) == NULL) return;
  uint32_t index = (uint32_t)handle & INDEX_MASK;
  struct slot *s = &t->slots[index];
  s->target = NULL;
  s->generation = (s->generation + 1) & GENERATION_MASK;
  s->next_free = t->free_head;
  t->free_head = index;
}
