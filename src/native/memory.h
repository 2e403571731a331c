#ifndef SOCKSGATE_MEMORY_H
#define SOCKSGATE_MEMORY_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* reduceHeap, trimMalloc (see memory.cc). */
napi_value ReduceHeap(napi_env env, napi_callback_info info);
napi_value TrimMalloc(napi_env env, napi_callback_info info);

#ifdef __cplusplus
}
#endif

#endif
