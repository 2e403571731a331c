#ifndef SOCKSGATE_UDP_SEND_H
#define SOCKSGATE_UDP_SEND_H

#include <node_api.h>

/* udpSend, udpSendTo (see udp-send.c). */
napi_value UdpSend(napi_env env, napi_callback_info info);
napi_value UdpSendTo(napi_env env, napi_callback_info info);

#endif
