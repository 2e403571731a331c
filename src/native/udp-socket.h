#ifndef SOCKSGATE_UDP_SOCKET_H
#define SOCKSGATE_UDP_SOCKET_H

#include <node_api.h>

/* udpSocket (see udp-socket.c). */
napi_value UdpSocket(napi_env env, napi_callback_info info);

#endif
