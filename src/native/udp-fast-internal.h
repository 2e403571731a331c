#ifndef SOCKSGATE_UDP_FAST_INTERNAL_H
#define SOCKSGATE_UDP_FAST_INTERNAL_H

/* What the two halves of the established UDP path share: the tables (udp-fast.c) and the relays
   with their reading and sending (udp-fast-relay.c). */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <node_api.h>
#include <uv.h>

#include "handle-box.h"

typedef struct udp_fast udp_fast; /* as in udp-fast.h, which this header must not include (one way only) */

#define FAST_BATCH 16
#define FAST_SLOT 65536
#define FAST_ROUNDS 8
#define FAST_QUEUE 64
#define FAST_MAX_HEADER 22 /* RSV FRAG ATYP + IPv6 + port: names never take this path */
#define ADDR_SLOT 28

/* An address as a hash key: IPv4 and v4-mapped IPv6 spell the same key. */
typedef struct {
  uint8_t family; /* 4 or 6; 0: none */
  uint8_t pad;
  uint16_t port;  /* network order */
  uint8_t ip[16];
} addr_key;

typedef struct fast_relay fast_relay;

typedef struct forward {
  addr_key client, dst;
  uint32_t id;
  uint32_t used;
  fast_relay *relay;
  struct sockaddr_storage dst_sa; /* where a direct socket sends */
  socklen_t dst_len;
  struct forward *next;                    /* bucket chain */
  struct forward *relay_prev, *relay_next; /* the relay's pairs */
  uint8_t header_len;
  unsigned char header[FAST_MAX_HEADER];
} forward;

typedef struct reply_socket {
  addr_key remote;
  int fd;
  uint32_t used;
  struct reply_socket *next;
} reply_socket;

struct fast_relay {
  uv_poll_t poll;
  udp_fast *table;
  napi_ref callback;
  handle_box *box;
  int fd;
  uint32_t id;
  uint32_t replies;
  struct sockaddr_storage client;
  socklen_t client_len;
  addr_key client_key;
  bool direct; /* no relay: unconnected, no header, replies from anyone */
  bool closing;
  forward *forwards;
  fast_relay *prev, *next; /* the table's relays */
};

typedef struct {
  int fd;
  struct mmsghdr msg;
  struct iovec iov[2];
} queued;

struct udp_fast {
  napi_env env;
  unsigned holds; /* the JS handle and each listener using it */
  bool closed;
  forward **forwards;
  uint32_t forward_mask, forward_count, forward_max;
  reply_socket **replies;
  uint32_t reply_mask, reply_count, reply_max;
  fast_relay *relays;
  uint32_t live_relays; /* relays whose poll handle libuv still holds */
  double datagrams_in, forward_errors, replies_out, reply_errors, malformed, fragmented;
  unsigned char *arena;
  struct mmsghdr in_msgs[FAST_BATCH];
  struct iovec in_iov[FAST_BATCH];
  struct sockaddr_storage in_peers[FAST_BATCH];
  queued queue[FAST_QUEUE];
  int queued_count;
};

/* Tables (udp-fast.c). */
bool key_of(const void *sa, addr_key *k);
forward **forward_slot(udp_fast *f, const addr_key *client, const addr_key *dst);
reply_socket **reply_slot(udp_fast *f, const addr_key *remote);
void forward_remove(udp_fast *f, forward *fw);
void table_free_if_done(udp_fast *f);
/* An fd argument. */
bool get_fd(napi_env env, napi_value v, int *fd);
/* Appends a number to a JS array at *at; false after a failed Node-API call. */
bool push_number(napi_env env, napi_value list, uint32_t *at, double value);

/* Relays (udp-fast-relay.c): stops reading, drops its pairs, closes its fd once libuv lets go. */
void relay_close(fast_relay *r);

#endif
