/*
 * The established UDP path, as ipt2socks runs it: once JavaScript has opened a client's SOCKS5
 * association and routed a (client, destination) pair, datagrams of that pair go from the TPROXY
 * listener straight to the relay with the SOCKS5 UDP header in front (sendmmsg per batch), and the
 * relay's replies go straight to the client through the transparent reply socket bound to the
 * remote's address (recvmmsg, header checked and stripped), with no JavaScript per datagram.
 * Anything else (a pair not registered, a reply from a remote without a registered reply socket, a
 * domain-name source) goes to JavaScript as before. JavaScript decides everything: which pairs, which
 * relay, which header, which reply sockets; the addon only keeps the tables and counts. This file
 * holds the tables; udp-fast-relay.c the relay sockets and the sending.
 *
 *   udpFastCreate({ maxForwards, maxReplySockets })               -> table
 *   udpFastClose(table)                                            closes every relay; idempotent
 *   udpFastRelay(table, fd, relaySockaddr, clientSockaddr, id, cb) -> relay  adopts fd (closed on
 *       every failure and by udpFastRelayClose), connects it to the relay and reads it;
 *       cb(null, datagrams: Buffer[]) for the datagrams JavaScript must handle (whole, header
 *       included), cb(error) for a failed read.
 *       relaySockaddr null: a direct socket (no relay, no SOCKS5 header), left unconnected: pairs
 *       are sent to their destination, a datagram from any remote is a reply from it, and cb gets
 *       (null, datagrams, sources) with a 28-byte sockaddr slot per datagram in `sources`.
 *   udpFastRelayClose(relay) -> [replies, (forwardId, datagrams)…]  its counts since the last take;
 *                                                                  idempotent; drops its pairs
 *   udpFastForward(relay, clientSockaddr, dstSockaddr, header, id) -> bool    false: table full
 *       (header: empty for a direct socket)
 *   udpFastClearForwards(table)                                    the routes changed
 *   udpFastReplySocket(table, remoteSockaddr, fd)                  -> bool    false: table full
 *   udpFastReplySocketForget(table, remoteSockaddr) -> uses        before JavaScript closes it
 *   udpFastTake(table) -> number[]   what happened since the last take:
 *       [datagramsIn, forwardErrors, repliesOut, replyErrors, malformed, fragmented,
 *        F, (forwardId, datagrams) × F, R, (relayId, replies) × R, S, (replyFd, uses) × S]
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "args.h"
#include "errors.h"
#include "handle-box.h"
#include "js-callback.h"
#include "sockets.h"
#include "udp-fast-internal.h"
#include "udp-fast.h"

/* ---- keys and tables ---- */

bool key_of(const void *sa, addr_key *k) {
  memset(k, 0, sizeof *k);
  sa_family_t family;
  memcpy(&family, sa, sizeof family);
  if (family == AF_INET) {
    const struct sockaddr_in *v4 = sa;
    k->family = 4;
    k->port = v4->sin_port;
    memcpy(k->ip, &v4->sin_addr, 4);
    return true;
  }
  if (family == AF_INET6) {
    const struct sockaddr_in6 *v6 = sa;
    k->port = v6->sin6_port;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      k->family = 4;
      memcpy(k->ip, &v6->sin6_addr.s6_addr[12], 4);
    } else {
      k->family = 6;
      memcpy(k->ip, &v6->sin6_addr, 16);
    }
    return true;
  }
  return false;
}

static uint32_t hash_bytes(uint32_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static uint32_t pair_hash(const addr_key *client, const addr_key *dst) {
  return hash_bytes(hash_bytes(2166136261u, client, sizeof *client), dst, sizeof *dst);
}

forward **forward_slot(udp_fast *f, const addr_key *client, const addr_key *dst) {
  forward **slot = &f->forwards[pair_hash(client, dst) & f->forward_mask];
  while (*slot != NULL && (memcmp(&(*slot)->client, client, sizeof *client) != 0 || memcmp(&(*slot)->dst, dst, sizeof *dst) != 0))
    slot = &(*slot)->next;
  return slot;
}

reply_socket **reply_slot(udp_fast *f, const addr_key *remote) {
  reply_socket **slot = &f->replies[hash_bytes(2166136261u, remote, sizeof *remote) & f->reply_mask];
  while (*slot != NULL && memcmp(&(*slot)->remote, remote, sizeof *remote) != 0) slot = &(*slot)->next;
  return slot;
}

void forward_remove(udp_fast *f, forward *fw) {
  forward **slot = forward_slot(f, &fw->client, &fw->dst);
  if (*slot == fw) *slot = fw->next;
  fast_relay *r = fw->relay;
  if (fw->relay_prev != NULL) fw->relay_prev->relay_next = fw->relay_next;
  else r->forwards = fw->relay_next;
  if (fw->relay_next != NULL) fw->relay_next->relay_prev = fw->relay_prev;
  f->forward_count--;
  free(fw);
}

static uint32_t table_mask(uint32_t max) {
  uint32_t n = 64;
  while (n < max && n < (1u << 20)) n <<= 1;
  return n - 1;
}

void table_free_if_done(udp_fast *f) {
  if (f->holds > 0 || f->live_relays > 0) return;
  for (uint32_t i = 0; i <= f->reply_mask; i++) {
    for (reply_socket *s = f->replies[i], *next; s != NULL; s = next) {
      next = s->next;
      free(s);
    }
  }
  free(f->forwards);
  free(f->replies);
  free(f->arena);
  free(f);
}

void udp_fast_hold(udp_fast *f) {
  f->holds++;
}

void udp_fast_release(udp_fast *f) {
  f->holds--;
  table_free_if_done(f);
}

/* ---- JavaScript entry points: the table ---- */
static void table_finalize(napi_env env, void *data, void *hint) {
  udp_fast *f = data;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) relay_close(r);
  f->closed = true;
  udp_fast_release(f);
}

udp_fast *udp_fast_from(napi_env env, napi_value handle) {
  napi_valuetype type;
  void *data;
  if (napi_typeof(env, handle, &type) != napi_ok || type != napi_external || napi_get_value_external(env, handle, &data) != napi_ok) {
    throw_type(env, "table must come from udpFastCreate");
    return NULL;
  }
  return data;
}

napi_value UdpFastCreate(napi_env env, napi_callback_info info) {
  napi_value argv[1], handle;
  int64_t max_forwards = 4096, max_replies = 4096;
  if (!get_args(env, info, 1, argv) || !get_object(env, argv[0], "opts") ||
      !opt_int(env, argv[0], "maxForwards", "opts.maxForwards", 1, 1 << 20, &max_forwards) ||
      !opt_int(env, argv[0], "maxReplySockets", "opts.maxReplySockets", 1, 1 << 20, &max_replies))
    return NULL;
  udp_fast *f = calloc(1, sizeof *f);
  if (f == NULL) return throw_errno(env, ENOMEM, "malloc");
  f->env = env;
  f->holds = 1;
  f->forward_max = (uint32_t)max_forwards;
  f->forward_mask = table_mask(f->forward_max);
  f->reply_max = (uint32_t)max_replies;
  f->reply_mask = table_mask(f->reply_max);
  f->forwards = calloc((size_t)f->forward_mask + 1, sizeof *f->forwards);
  f->replies = calloc((size_t)f->reply_mask + 1, sizeof *f->replies);
  f->arena = malloc((size_t)FAST_BATCH * FAST_SLOT);
  if (f->forwards == NULL || f->replies == NULL || f->arena == NULL) {
    f->holds = 0;
    table_free_if_done(f);
    return throw_errno(env, ENOMEM, "malloc");
  }
  if (napi_create_external(env, f, table_finalize, NULL, &handle) != napi_ok) {
    f->holds = 0;
    table_free_if_done(f);
    napi_throw_error(env, "ERR_NAPI", "napi_create_external failed");
    return NULL;
  }
  return handle;
}

napi_value UdpFastClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  udp_fast *f;
  if (!get_args(env, info, 1, argv) || (f = udp_fast_from(env, argv[0])) == NULL) return NULL;
  if (f->closed) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) relay_close(r);
  for (uint32_t i = 0; i <= f->reply_mask; i++) {
    for (reply_socket *s = f->replies[i], *next; s != NULL; s = next) {
      next = s->next;
      free(s);
    }
    f->replies[i] = NULL;
  }
  f->reply_count = 0;
  f->closed = true;
  return NULL;
}

bool get_fd(napi_env env, napi_value v, int *fd) {
  int64_t value;
  if (!get_int(env, v, "fd", 0, INT32_MAX, &value)) return false;
  *fd = (int)value;
  return true;
}

static napi_value bool_value(napi_env env, bool b) {
  napi_value out;
  napi_get_boolean(env, b, &out);
  return out;
}

napi_value UdpFastForward(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  bool ok;
  struct sockaddr_storage client_sa, dst_sa;
  socklen_t ignored, dst_len;
  void *header;
  size_t header_len;
  int64_t id;
  if (!get_args(env, info, 5, argv)) return NULL;
  fast_relay *r = handle_box_target(env, argv[0], &ok);
  if (!ok || !get_sockaddr(env, argv[1], &client_sa, &ignored) || !get_sockaddr(env, argv[2], &dst_sa, &dst_len) ||
      !get_int(env, argv[4], "id", 0, UINT32_MAX, &id))
    return NULL;
  if (napi_get_buffer_info(env, argv[3], &header, &header_len) != napi_ok || header_len > FAST_MAX_HEADER)
    return throw_range(env, "header must be a Buffer of at most 22 bytes");
  if (r == NULL || r->closing || r->table->closed) return bool_value(env, false);
  udp_fast *f = r->table;
  addr_key client, dst;
  key_of(&client_sa, &client);
  key_of(&dst_sa, &dst);
  forward **slot = forward_slot(f, &client, &dst);
  if (*slot != NULL) forward_remove(f, *slot);
  if (f->forward_count >= f->forward_max) return bool_value(env, false);
  forward *fw = calloc(1, sizeof *fw);
  if (fw == NULL) return bool_value(env, false);
  fw->client = client;
  fw->dst = dst;
  fw->id = (uint32_t)id;
  fw->relay = r;
  fw->dst_sa = dst_sa;
  fw->dst_len = dst_len;
  fw->header_len = (uint8_t)(r->direct ? 0 : header_len);
  memcpy(fw->header, header, header_len);
  slot = forward_slot(f, &client, &dst); /* removing may have moved the end of the chain */
  *slot = fw;
  fw->relay_next = r->forwards;
  if (r->forwards != NULL) r->forwards->relay_prev = fw;
  r->forwards = fw;
  f->forward_count++;
  return bool_value(env, true);
}

napi_value UdpFastClearForwards(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  udp_fast *f;
  if (!get_args(env, info, 1, argv) || (f = udp_fast_from(env, argv[0])) == NULL) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next)
    while (r->forwards != NULL) forward_remove(f, r->forwards);
  return NULL;
}

napi_value UdpFastReplySocket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  udp_fast *f;
  struct sockaddr_storage sa;
  socklen_t ignored;
  int fd;
  addr_key remote;
  if (!get_args(env, info, 3, argv) || (f = udp_fast_from(env, argv[0])) == NULL || !get_sockaddr(env, argv[1], &sa, &ignored) || !get_fd(env, argv[2], &fd))
    return NULL;
  if (f->closed) return bool_value(env, false);
  key_of(&sa, &remote);
  reply_socket **slot = reply_slot(f, &remote);
  if (*slot != NULL) {
    (*slot)->fd = fd;
    return bool_value(env, true);
  }
  if (f->reply_count >= f->reply_max) return bool_value(env, false);
  reply_socket *s = calloc(1, sizeof *s);
  if (s == NULL) return bool_value(env, false);
  s->remote = remote;
  s->fd = fd;
  *slot = s;
  f->reply_count++;
  return bool_value(env, true);
}

napi_value UdpFastReplySocketForget(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  udp_fast *f;
  struct sockaddr_storage sa;
  socklen_t ignored;
  addr_key remote;
  if (!get_args(env, info, 2, argv) || (f = udp_fast_from(env, argv[0])) == NULL || !get_sockaddr(env, argv[1], &sa, &ignored)) return NULL;
  key_of(&sa, &remote);
  reply_socket **slot = reply_slot(f, &remote);
  reply_socket *s = *slot;
  napi_value used;
  CHECK_NAPI(napi_create_uint32(env, s == NULL ? 0 : s->used, &used));
  if (s == NULL) return used;
  *slot = s->next;
  f->reply_count--;
  free(s);
  return used;
}

bool push_number(napi_env env, napi_value list, uint32_t *at, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_element(env, list, (*at)++, v) == napi_ok;
}

napi_value UdpFastTake(napi_env env, napi_callback_info info) {
  napi_value argv[1], list;
  udp_fast *f;
  uint32_t at = 0;
  if (!get_args(env, info, 1, argv) || (f = udp_fast_from(env, argv[0])) == NULL) return NULL;
  CHECK_NAPI(napi_create_array(env, &list));
  double totals[] = {f->datagrams_in, f->forward_errors, f->replies_out, f->reply_errors, f->malformed, f->fragmented};
  for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
    if (!push_number(env, list, &at, totals[i])) return throw_errno(env, ENOMEM, "udpFastTake");
  f->datagrams_in = f->forward_errors = f->replies_out = f->reply_errors = f->malformed = f->fragmented = 0;
  /* counts first, then the entries, so each section is written in one pass */
  uint32_t count_at = at, count = 0;
  if (!push_number(env, list, &at, 0)) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) {
    for (forward *fw = r->forwards; fw != NULL; fw = fw->relay_next) {
      if (fw->used == 0) continue;
      if (!push_number(env, list, &at, fw->id) || !push_number(env, list, &at, fw->used)) return NULL;
      fw->used = 0;
      count++;
    }
  }
  if (!push_number(env, list, &count_at, count)) return NULL;
  count_at = at, count = 0;
  if (!push_number(env, list, &at, 0)) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) {
    if (r->replies == 0) continue;
    if (!push_number(env, list, &at, r->id) || !push_number(env, list, &at, r->replies)) return NULL;
    r->replies = 0;
    count++;
  }
  if (!push_number(env, list, &count_at, count)) return NULL;
  count_at = at, count = 0;
  if (!push_number(env, list, &at, 0)) return NULL;
  for (uint32_t i = 0; i <= f->reply_mask; i++) {
    for (reply_socket *s = f->replies[i]; s != NULL; s = s->next) {
      if (s->used == 0) continue;
      if (!push_number(env, list, &at, s->fd) || !push_number(env, list, &at, s->used)) return NULL;
      s->used = 0;
      count++;
    }
  }
  if (!push_number(env, list, &count_at, count)) return NULL;
  return list;
}
