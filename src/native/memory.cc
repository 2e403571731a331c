/*
 * Giving memory back after a burst of flows: the one thing here that needs V8's C++ API, because
 * neither Node nor Node-API can ask V8 for a memory-reducing collection. The addon is built against
 * the installed Node's headers (npm ci), so this V8 API is the one the process runs.
 *
 *   reduceHeap()  -> undefined   V8's LowMemoryNotification
 *   trimMalloc()  -> undefined   malloc_trim(0)
 *
 * After thousands of flows close, a plain gc() frees their objects but leaves the old-space pages
 * they were spread over committed (no compaction of such pages, no unmapping), and V8's memory
 * reducer runs again only once the heap has grown by 10 MiB; malloc keeps the freed chunks of the
 * flows' native state. LowMemoryNotification compacts and unmaps; malloc_trim returns free pages.
 */
#include <malloc.h>

#include <node_api.h>
#include <v8.h>

#include "memory.h"

napi_value ReduceHeap(napi_env env, napi_callback_info info) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  return nullptr;
}

napi_value TrimMalloc(napi_env env, napi_callback_info info) {
  malloc_trim(0);
  return nullptr;
}
