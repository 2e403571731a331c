#ifndef SOCKSGATE_SHARED_BUFFER_H
#define SOCKSGATE_SHARED_BUFFER_H

#include <stddef.h>

#include <node_api.h>

/*
 * A Buffer of `size` bytes that the addon writes into and JS reads from (one per concern, not one
 * per event), held for the module's life; *data is where C writes. NULL with a JS error thrown
 * (naming `name`) when Node-API fails.
 */
napi_value shared_buffer(napi_env env, size_t size, unsigned char **data, const char *name);

#endif
