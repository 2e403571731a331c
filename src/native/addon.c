/*
 * socksgate native boundary: the few socket calls Node cannot make. This file only registers the
 * exports; each concern has its own file.
 *
 * Node-API only, no policy. Every function takes raw fds / raw sockaddr bytes and returns fds /
 * raw sockaddr bytes; TypeScript (src/codec/sockaddr.ts, src/native/index.ts) does the rest.
 * A failed syscall throws an Error with `code` (errno name, e.g. "EPERM"), `errno` (number) and
 * `syscall` (e.g. "setsockopt(SO_MARK)"). Every fd created here is closed on every failure path.
 *
 *   tcp-socket.c  originalDst(fd, ipv6)         -> Buffer   raw sockaddr_in (16) / sockaddr_in6 (28)
 *                 tcpListen(sockaddr, opts)     -> fd       listening, nonblocking, cloexec, TCP_NODELAY
 *                 tcpSocket(family, mark)       -> fd       unconnected, nonblocking, cloexec, SO_MARK, TCP_NODELAY
 *                 tcpConnect(sockaddr, mark)    -> fd       connect() started (EINPROGRESS), SO_MARK
 *   fds.c         closeFd(fd)                   -> undefined
 *                 raiseNofile()                 -> { soft, hard }  RLIMIT_NOFILE soft limit raised to hard
 *   udp-socket.c  udpSocket(sockaddr, opts)     -> fd       bound UDP socket: transparent?, reuseAddr?, mark
 *   udp-send.c    udpSend(fd, buf), udpSendTo(fd, buf, host, port) -> 0 | -errno   one datagram, synchronously
 *   udp-listen.c  udpListen(sockaddr, opts, cb) -> handle   transparent UDP receiver
 *                 udpListenClose(handle)        -> undefined
 *   udp-fast.c    udpFast*(…)                   the established UDP path: pairs straight to relays, replies straight back
 *                 (its tables; udp-fast-relay.c its relay sockets and sends)
 *   splice.c      spliceRelayOnDone(cb), spliceRelay(…) -> handle, spliceRelayStop(handle)
 *   tcp-accept.c  tcpAccept(…), tcpAcceptClose(handle)
 *   client-read.c clientReadInit(cb), clientRead(fd, timeoutMs), clientReadStop(fd), clientReadReceived,
 *                 clientSend(fd, bytes), clientReset(fd)   a proxy client's handshake without a Node socket
 *   tcp-dial.c    tcpDial(…), tcpDialSend/Splice/Bound/Abort(handle, …), tcpDialReceived
 *   memory.cc     reduceHeap(), trimMalloc()
 *
 * Shared by those: errors.c (throwing), args.c (arguments), sockets.c (socket options),
 * js-callback.c (calling JS from the loop), handle-box.c, slot-table.c, deadlines.c, fd-watch.c,
 * pipe-pool.c, shared-buffer.c (a Buffer the addon writes for JS, one per concern).
 */
#include <node_api.h>

#include "client-read.h"
#include "fd-watch.h"
#include "fds.h"
#include "js-callback.h"
#include "memory.h"
#include "splice.h"
#include "tcp-accept.h"
#include "tcp-dial.h"
#include "tcp-socket.h"
#include "udp-fast.h"
#include "udp-listen.h"
#include "udp-send.h"
#include "udp-socket.h"
#include "unix-socket.h"

#define EXPORT(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value dial_received, client_received;
  uv_loop_t *loop;
  if (!addon_async_context_init(env) || (dial_received = tcp_dial_received(env)) == NULL ||
      (client_received = client_read_received(env)) == NULL) {
    return NULL;
  }
  /* Failing here is no failure: the first relay tries again. */
  if (napi_get_uv_event_loop(env, &loop) == napi_ok) fd_watch_open(loop);
  napi_property_descriptor props[] = {
      EXPORT("originalDst", OriginalDst),
      EXPORT("tcpListen", TcpListen),
      EXPORT("tcpSocket", TcpSocket),
      EXPORT("tcpConnect", TcpConnect),
      EXPORT("unixListen", UnixListen),
      EXPORT("unixAnswers", UnixAnswers),
      EXPORT("closeFd", CloseFd),
      EXPORT("raiseNofile", RaiseNofile),
      EXPORT("udpSocket", UdpSocket),
      EXPORT("udpSend", UdpSend),
      EXPORT("udpSendTo", UdpSendTo),
      EXPORT("udpListen", UdpListen),
      EXPORT("udpListenClose", UdpListenClose),
      EXPORT("udpFastCreate", UdpFastCreate),
      EXPORT("udpFastClose", UdpFastClose),
      EXPORT("udpFastRelay", UdpFastRelay),
      EXPORT("udpFastRelayClose", UdpFastRelayClose),
      EXPORT("udpFastForward", UdpFastForward),
      EXPORT("udpFastClearForwards", UdpFastClearForwards),
      EXPORT("udpFastReplySocket", UdpFastReplySocket),
      EXPORT("udpFastReplySocketForget", UdpFastReplySocketForget),
      EXPORT("udpFastTake", UdpFastTake),
      EXPORT("spliceRelayOnDone", SpliceRelayOnDone),
      EXPORT("spliceRelay", SpliceRelay),
      EXPORT("spliceRelayStop", SpliceRelayStop),
      EXPORT("tcpAccept", TcpAccept),
      EXPORT("tcpAcceptClose", TcpAcceptClose),
      EXPORT("tcpDial", TcpDial),
      EXPORT("tcpDialSend", TcpDialSend),
      EXPORT("tcpDialSplice", TcpDialSplice),
      EXPORT("tcpDialBound", TcpDialBound),
      EXPORT("tcpDialAbort", TcpDialAbort),
      {"tcpDialReceived", NULL, NULL, NULL, NULL, dial_received, napi_enumerable, NULL},
      EXPORT("clientReadInit", ClientReadInit),
      EXPORT("clientRead", ClientRead),
      EXPORT("clientReadStop", ClientReadStop),
      {"clientReadReceived", NULL, NULL, NULL, NULL, client_received, napi_enumerable, NULL},
      EXPORT("clientSend", ClientSend),
      EXPORT("clientReset", ClientReset),
      EXPORT("reduceHeap", ReduceHeap),
      EXPORT("trimMalloc", TrimMalloc),
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) {
    napi_throw_error(env, "ERR_NAPI", "napi_define_properties failed");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
