#ifndef SOCKSGATE_SOCKETS_H
#define SOCKSGATE_SOCKETS_H

#include <node_api.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#ifndef SO_MARK
#define SO_MARK 36
#endif

#define SOCKADDR_IN_LEN ((socklen_t)sizeof(struct sockaddr_in))   /* 16 */
#define SOCKADDR_IN6_LEN ((socklen_t)sizeof(struct sockaddr_in6)) /* 28 */

/* setsockopt of an int option; 0 or -1 with errno. */
int set_int_opt(int fd, int level, int name, int value);

/* Where a REDIRECTed or DNATed connection was headed, from conntrack (SO_ORIGINAL_DST, or
   IP6T_SO_ORIGINAL_DST for a native IPv6 one); 0 or the errno (ENOENT: not NATed). */
int original_dst(int fd, bool ipv6, struct sockaddr_storage *ss, socklen_t *len);

/* Closes fd with an RST instead of a FIN (SO_LINGER 0): a peer we cannot serve is not left waiting. */
void reset_and_close(int fd);

/* Sets IP_TRANSPARENT / IPV6_TRANSPARENT as the family needs; returns the option that failed, or NULL. */
const char *set_transparent(int fd, int family, bool v6only);

/*
 * A nonblocking cloexec socket for a listener (TCP or UDP, not bound yet): SO_REUSEADDR,
 * SO_REUSEPORT when several workers share the address, IPV6_V6ONLY as asked, and the transparent
 * options when asked. Returns -1 after throwing.
 */
int listener_socket(napi_env env, int family, int type, bool reuse_port, bool v6only, bool transparent);

/* A nonblocking cloexec TCP socket of `family` with SO_MARK (unless mark is 0) and TCP_NODELAY (set
   before connect, it costs no work on the connection), or -1 after throwing. */
int marked_socket(napi_env env, int family, uint32_t mark);

#endif
