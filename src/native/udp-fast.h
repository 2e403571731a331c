#ifndef SOCKSGATE_UDP_FAST_H
#define SOCKSGATE_UDP_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <node_api.h>

/* The established UDP path (see udp-fast.c). */
typedef struct udp_fast udp_fast;

/* The table behind a handle from udpFastCreate, or NULL after throwing. */
udp_fast *udp_fast_from(napi_env env, napi_value handle);
/* Keeps the table alive while a listener uses it, and lets it go. */
void udp_fast_hold(udp_fast *f);
void udp_fast_release(udp_fast *f);

/*
 * A datagram from `peer` to `origdst` (a 28-byte slot, family 0: none) read by a TPROXY listener:
 * true when an established entry took it (queued for the relay; `payload` must stay valid until
 * udp_fast_flush), false when JavaScript has to see it.
 */
bool udp_fast_offer(udp_fast *f, const struct sockaddr_storage *peer, const unsigned char *origdst, unsigned char *payload, size_t len);
/* Sends what udp_fast_offer queued. */
void udp_fast_flush(udp_fast *f);

napi_value UdpFastCreate(napi_env env, napi_callback_info info);
napi_value UdpFastClose(napi_env env, napi_callback_info info);
napi_value UdpFastRelay(napi_env env, napi_callback_info info);
napi_value UdpFastRelayClose(napi_env env, napi_callback_info info);
napi_value UdpFastForward(napi_env env, napi_callback_info info);
napi_value UdpFastClearForwards(napi_env env, napi_callback_info info);
napi_value UdpFastReplySocket(napi_env env, napi_callback_info info);
napi_value UdpFastReplySocketForget(napi_env env, napi_callback_info info);
napi_value UdpFastTake(napi_env env, napi_callback_info info);

#endif
