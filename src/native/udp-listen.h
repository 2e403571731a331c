#ifndef SOCKSGATE_UDP_LISTEN_H
#define SOCKSGATE_UDP_LISTEN_H

#include <node_api.h>

/* udpListen, udpListenClose (see udp-listen.c). */
napi_value UdpListen(napi_env env, napi_callback_info info);
napi_value UdpListenClose(napi_env env, napi_callback_info info);

#endif
