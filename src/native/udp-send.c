/*
 * One datagram out, synchronously, on a UDP socket Node also holds (dgram adopted its fd): no
 * send request, callback or address lookup per datagram, which is what dgram's send costs.
 * Datagrams are atomic, so these never interleave with anything dgram itself sends.
 *
 *   udpSend(fd, buffer)                     -> 0 | -errno    on a connected socket
 *   udpSendTo(fd, buffer, host, port)       -> 0 | -errno    host: an IPv4 or IPv6 literal
 *
 * A full socket buffer is -EAGAIN: the datagram is dropped, as the kernel would drop it anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <node_api.h>

#include "args.h"
#include "udp-send.h"

static bool get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  if (napi_get_buffer_info(env, v, data, len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "buffer must be a Buffer");
    return false;
  }
  return true;
}

static napi_value result(napi_env env, ssize_t sent) {
  napi_value out;
  napi_create_int32(env, sent < 0 ? -errno : 0, &out);
  return out;
}

napi_value UdpSend(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd;
  void *data;
  size_t len;
  if (!get_args(env, info, 2, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) || !get_buffer(env, argv[1], &data, &len)) return NULL;
  return result(env, send((int)fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL));
}

napi_value UdpSendTo(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t fd, port;
  void *data;
  size_t len;
  char host[INET6_ADDRSTRLEN];
  size_t host_len;
  if (!get_args(env, info, 4, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd) || !get_buffer(env, argv[1], &data, &len) ||
      !get_int(env, argv[3], "port", 0, 65535, &port)) {
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[2], host, sizeof host, &host_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "host must be a string");
    return NULL;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t ss_len;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    ss_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    ss_len = sizeof *v6;
  } else {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "host must be an IPv4 or IPv6 literal");
    return NULL;
  }
  return result(env, sendto((int)fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, ss_len));
}
