#ifndef SOCKSGATE_MEMORY_H
#define SOCKSGATE_MEMORY_H

#include <node_api.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Adds reduceHeap and trimMalloc (see memory.cc) to the module's exports. */
bool memory_register(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
