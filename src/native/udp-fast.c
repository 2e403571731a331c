/*
 * The established UDP path, as ipt2socks runs it: once JavaScript has opened a client's SOCKS5
 * association and routed a (client, destination) pair, datagrams of that pair go from the TPROXY
 * listener straight to the relay with the SOCKS5 UDP header in front (sendmmsg per batch), and the
 * relay's replies go straight to the client through the transparent reply socket bound to the
 * remote's address (recvmmsg, header checked and stripped), with no JavaScript per datagram.
 * Anything else (a pair not registered, a reply from a remote without a registered reply socket, a
 * domain-name source) goes to JavaScript as before. JavaScript decides everything: which pairs, which
 * relay, which header, which reply sockets; this file only keeps the tables and counts.
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
#include "udp-fast.h"

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

/* ---- keys and tables ---- */

static bool key_of(const void *sa, addr_key *k) {
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

static forward **forward_slot(udp_fast *f, const addr_key *client, const addr_key *dst) {
  forward **slot = &f->forwards[pair_hash(client, dst) & f->forward_mask];
  while (*slot != NULL && (memcmp(&(*slot)->client, client, sizeof *client) != 0 || memcmp(&(*slot)->dst, dst, sizeof *dst) != 0))
    slot = &(*slot)->next;
  return slot;
}

static reply_socket **reply_slot(udp_fast *f, const addr_key *remote) {
  reply_socket **slot = &f->replies[hash_bytes(2166136261u, remote, sizeof *remote) & f->reply_mask];
  while (*slot != NULL && memcmp(&(*slot)->remote, remote, sizeof *remote) != 0) slot = &(*slot)->next;
  return slot;
}

static void forward_remove(udp_fast *f, forward *fw) {
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

static void table_free_if_done(udp_fast *f) {
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

/* ---- sending ---- */

/* Sends queue[from, to) that all share one fd; a datagram the kernel refuses is dropped and counted. */
static void send_run(udp_fast *f, int from, int to, double *errors, double *sent_ok) {
  struct mmsghdr msgs[FAST_QUEUE];
  int n = to - from;
  for (int i = 0; i < n; i++) msgs[i] = f->queue[from + i].msg;
  int fd = f->queue[from].fd;
  for (int done = 0; done < n;) {
    int sent = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      (*errors)++; /* the first one failed: drop it, as the kernel would have */
      done++;
    } else {
      done += sent;
      if (sent_ok != NULL) *sent_ok += sent;
    }
  }
}

static void flush_queue(udp_fast *f, double *errors, double *sent_ok) {
  int start = 0;
  for (int i = 1; i <= f->queued_count; i++) {
    if (i == f->queued_count || f->queue[i].fd != f->queue[start].fd) {
      send_run(f, start, i, errors, sent_ok);
      start = i;
    }
  }
  f->queued_count = 0;
}

void udp_fast_flush(udp_fast *f) {
  flush_queue(f, &f->forward_errors, NULL);
}

static queued *enqueue(udp_fast *f, int fd, double *errors, double *sent_ok) {
  if (f->queued_count == FAST_QUEUE) flush_queue(f, errors, sent_ok);
  queued *q = &f->queue[f->queued_count++];
  q->fd = fd;
  memset(&q->msg, 0, sizeof q->msg);
  q->msg.msg_hdr.msg_iov = q->iov;
  return q;
}

bool udp_fast_offer(udp_fast *f, const struct sockaddr_storage *peer, const unsigned char *origdst, unsigned char *payload, size_t len) {
  addr_key client, dst;
  if (f->closed || f->forward_count == 0 || !key_of(peer, &client) || !key_of(origdst, &dst)) return false;
  forward *fw = *forward_slot(f, &client, &dst);
  if (fw == NULL) return false;
  fw->used++;
  f->datagrams_in++;
  queued *q = enqueue(f, fw->relay->fd, &f->forward_errors, NULL);
  q->iov[0] = (struct iovec){fw->header, fw->header_len};
  q->iov[1] = (struct iovec){payload, len};
  q->msg.msg_hdr.msg_iovlen = 2;
  if (fw->relay->direct) {
    q->msg.msg_hdr.msg_name = &fw->dst_sa;
    q->msg.msg_hdr.msg_namelen = fw->dst_len;
  }
  return true;
}

/* ---- relays ---- */

static void relay_call(fast_relay *r, size_t argc, napi_value *argv) {
  napi_value fn;
  napi_env env = r->table->env;
  if (napi_get_reference_value(env, r->callback, &fn) != napi_ok || fn == NULL) return;
  call_js(env, addon_async_context(), fn, argc, argv);
}

static void on_relay_closed(uv_handle_t *handle) {
  fast_relay *r = handle->data;
  udp_fast *f = r->table;
  close(r->fd);
  if (r->prev != NULL) r->prev->next = r->next;
  else f->relays = r->next;
  if (r->next != NULL) r->next->prev = r->prev;
  f->live_relays--;
  free(r);
  table_free_if_done(f);
}

static void relay_close(fast_relay *r) {
  if (r->closing) return;
  r->closing = true;
  udp_fast *f = r->table;
  while (r->forwards != NULL) forward_remove(f, r->forwards);
  /* a queued datagram names this fd, which is about to be closed and maybe reused */
  if (f->queued_count > 0) udp_fast_flush(f);
  handle_box_detach(r->box);
  r->box = NULL;
  napi_delete_reference(f->env, r->callback);
  uv_poll_stop(&r->poll);
  uv_close((uv_handle_t *)&r->poll, on_relay_closed);
}

/* A SOCKS5 UDP reply this file can deliver: *remote and *payload set; otherwise why not. */
enum reply_kind { REPLY_OK, REPLY_TO_JS, REPLY_MALFORMED, REPLY_FRAGMENT };

static enum reply_kind parse_reply(const unsigned char *d, size_t len, struct sockaddr_storage *remote, socklen_t *remote_len, size_t *header_len) {
  if (len < 4 || d[0] != 0 || d[1] != 0) return REPLY_MALFORMED;
  size_t need = d[3] == 1 ? 10 : d[3] == 4 ? 22 : d[3] == 3 ? 0 : 1;
  if (need == 0) return REPLY_TO_JS; /* a name: JavaScript knows which address it stands for */
  if (need == 1 || len < need) return REPLY_MALFORMED;
  if (d[2] != 0) return REPLY_FRAGMENT;
  memset(remote, 0, sizeof *remote);
  if (d[3] == 1) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)remote;
    v4->sin_family = AF_INET;
    memcpy(&v4->sin_addr, d + 4, 4);
    memcpy(&v4->sin_port, d + 8, 2);
    *remote_len = SOCKADDR_IN_LEN;
  } else {
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)remote;
    v6->sin6_family = AF_INET6;
    memcpy(&v6->sin6_addr, d + 4, 16);
    memcpy(&v6->sin6_port, d + 20, 2);
    *remote_len = SOCKADDR_IN6_LEN;
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return REPLY_TO_JS;
  }
  *header_len = need;
  return REPLY_OK;
}

/* Hands the datagrams JavaScript must see to it; false when the batch could not be built. */
static bool relay_deliver(fast_relay *r, const int *which, int count) {
  napi_env env = r->table->env;
  napi_value list, null_v, sources = NULL;
  void *source_data = NULL;
  if (napi_create_array_with_length(env, (size_t)count, &list) != napi_ok || napi_get_null(env, &null_v) != napi_ok) return false;
  if (r->direct) {
    if (napi_create_buffer(env, (size_t)count * ADDR_SLOT, &source_data, &sources) != napi_ok) return false;
    memset(source_data, 0, (size_t)count * ADDR_SLOT);
  }
  for (int i = 0; i < count; i++) {
    size_t len = r->table->in_msgs[which[i]].msg_len;
    napi_value buf;
    void *data;
    if (napi_create_buffer_copy(env, len, r->table->arena + (size_t)which[i] * FAST_SLOT, &data, &buf) != napi_ok ||
        napi_set_element(env, list, (uint32_t)i, buf) != napi_ok)
      return false;
    if (r->direct) {
      socklen_t len = r->table->in_msgs[which[i]].msg_hdr.msg_namelen;
      memcpy((unsigned char *)source_data + (size_t)i * ADDR_SLOT, &r->table->in_peers[which[i]], len < ADDR_SLOT ? len : ADDR_SLOT);
    }
  }
  napi_value argv[3] = {null_v, list, sources};
  relay_call(r, r->direct ? 3 : 2, argv);
  return true;
}

static void relay_error(fast_relay *r, int err, const char *syscall) {
  napi_env env = r->table->env;
  napi_value exception;
  throw_errno(env, err, syscall);
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) return;
  relay_call(r, 1, &exception);
}

/* One batch from the relay: returns how many datagrams were read (-1: stop reading for now). */
static int relay_read_batch(fast_relay *r) {
  udp_fast *f = r->table;
  for (int i = 0; i < FAST_BATCH; i++) {
    f->in_iov[i] = (struct iovec){f->arena + (size_t)i * FAST_SLOT, FAST_SLOT};
    f->in_msgs[i].msg_hdr = (struct msghdr){.msg_iov = &f->in_iov[i], .msg_iovlen = 1};
    if (r->direct) {
      f->in_msgs[i].msg_hdr.msg_name = &f->in_peers[i];
      f->in_msgs[i].msg_hdr.msg_namelen = sizeof f->in_peers[i];
    }
    f->in_msgs[i].msg_len = 0;
  }
  int n = recvmmsg(r->fd, f->in_msgs, FAST_BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) relay_error(r, errno, "recvmmsg");
    return -1;
  }
  int to_js[FAST_BATCH], js_count = 0;
  for (int i = 0; i < n; i++) {
    unsigned char *d = f->arena + (size_t)i * FAST_SLOT;
    struct sockaddr_storage remote;
    socklen_t remote_len = 0;
    size_t header_len = 0;
    addr_key remote_key;
    reply_socket *s = NULL;
    enum reply_kind kind = REPLY_OK;
    if (!r->direct) {
      kind = parse_reply(d, f->in_msgs[i].msg_len, &remote, &remote_len, &header_len);
    } else if (!key_of(&f->in_peers[i], &remote_key) || (f->in_peers[i].ss_family == AF_INET6 && remote_key.family == 4)) {
      kind = REPLY_TO_JS; /* a v4-mapped source: JavaScript spells it as IPv4 for the reply socket */
    } else {
      remote = f->in_peers[i];
    }
    if (kind == REPLY_MALFORMED) f->malformed++;
    else if (kind == REPLY_FRAGMENT) f->fragmented++;
    if (kind != REPLY_OK) {
      if (kind == REPLY_TO_JS) to_js[js_count++] = i;
      continue;
    }
    key_of(&remote, &remote_key);
    if (remote_key.family == r->client_key.family) s = *reply_slot(f, &remote_key);
    if (s == NULL) {
      to_js[js_count++] = i; /* JavaScript opens the reply socket (or says why it cannot) */
      continue;
    }
    s->used++;
    r->replies++;
    queued *q = enqueue(f, s->fd, &f->reply_errors, &f->replies_out);
    q->iov[0] = (struct iovec){d + header_len, f->in_msgs[i].msg_len - header_len};
    q->msg.msg_hdr.msg_iovlen = 1;
    q->msg.msg_hdr.msg_name = &r->client;
    q->msg.msg_hdr.msg_namelen = r->client_len;
  }
  flush_queue(f, &f->reply_errors, &f->replies_out);
  if (js_count > 0 && !relay_deliver(r, to_js, js_count)) return -1;
  return n;
}

static void on_relay_readable(uv_poll_t *handle, int status, int events) {
  fast_relay *r = handle->data;
  napi_env env = r->table->env;
  if (status < 0) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    relay_error(r, -status, "uv_poll");
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int round = 0; round < FAST_ROUNDS && !r->closing; round++) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    int n = relay_read_batch(r);
    napi_close_handle_scope(env, scope);
    if (n < FAST_BATCH) return;
  }
}

/* ---- JavaScript entry points ---- */

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

static bool get_fd(napi_env env, napi_value v, int *fd) {
  int64_t value;
  if (!get_int(env, v, "fd", 0, INT32_MAX, &value)) return false;
  *fd = (int)value;
  return true;
}

napi_value UdpFastRelay(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int fd;
  int64_t id;
  udp_fast *f;
  if (!get_args(env, info, 6, argv) || !get_fd(env, argv[1], &fd)) return NULL;
  struct sockaddr_storage relay_addr;
  socklen_t relay_len;
  napi_valuetype type;
  if ((f = udp_fast_from(env, argv[0])) == NULL) return close_and_throw(env, fd, EINVAL, "udpFastRelay");
  if (f->closed) return close_and_throw(env, fd, EBADF, "udpFastRelay");
  fast_relay *r = calloc(1, sizeof *r);
  if (r == NULL) return close_and_throw(env, fd, ENOMEM, "malloc");
  napi_valuetype relay_type;
  if (napi_typeof(env, argv[2], &relay_type) != napi_ok) relay_type = napi_undefined;
  r->direct = relay_type == napi_null;
  if ((!r->direct && !get_sockaddr(env, argv[2], &relay_addr, &relay_len)) || !get_sockaddr(env, argv[3], &r->client, &r->client_len) ||
      !get_int(env, argv[4], "id", 0, UINT32_MAX, &id) || napi_typeof(env, argv[5], &type) != napi_ok || type != napi_function) {
    free(r);
    close(fd);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : throw_type(env, "callback must be a function");
  }
  key_of(&r->client, &r->client_key);
  r->id = (uint32_t)id;
  if (!r->direct && connect(fd, (struct sockaddr *)&relay_addr, relay_len) != 0) {
    free(r);
    return close_and_throw(env, fd, errno, "connect");
  }
  uv_loop_t *loop;
  int uv_err;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_reference(env, argv[5], 1, &r->callback) != napi_ok) {
    free(r);
    return close_and_throw(env, fd, ENOMEM, "napi_create_reference");
  }
  if ((uv_err = uv_poll_init(loop, &r->poll, fd)) != 0) {
    napi_delete_reference(env, r->callback);
    free(r);
    return close_and_throw(env, fd, -uv_err, "uv_poll_init");
  }
  r->poll.data = r;
  r->table = f;
  r->fd = fd;
  r->next = f->relays;
  if (f->relays != NULL) f->relays->prev = r;
  f->relays = r;
  f->live_relays++;
  /* From here on the poll handle owns fd and r: every exit goes through relay_close. */
  napi_value handle = handle_box_new(env, r, &r->box);
  if (handle == NULL) {
    relay_close(r);
    return NULL;
  }
  if ((uv_err = uv_poll_start(&r->poll, UV_READABLE, on_relay_readable)) != 0) {
    relay_close(r);
    return throw_errno(env, -uv_err, "uv_poll_start");
  }
  return handle;
}

static fast_relay *relay_from(napi_env env, napi_value v, bool *ok) {
  return handle_box_target(env, v, ok);
}

static bool push(napi_env env, napi_value list, uint32_t *at, double value);

napi_value UdpFastRelayClose(napi_env env, napi_callback_info info) {
  napi_value argv[1], list;
  bool ok;
  uint32_t at = 0;
  if (!get_args(env, info, 1, argv)) return NULL;
  fast_relay *r = relay_from(env, argv[0], &ok);
  if (!ok) return NULL;
  CHECK_NAPI(napi_create_array(env, &list));
  if (r == NULL) return list;
  /* what it did since the last take, so that closing one needs no take of everything */
  bool counted = push(env, list, &at, r->replies);
  for (forward *fw = r->forwards; counted && fw != NULL; fw = fw->relay_next)
    if (fw->used > 0) counted = push(env, list, &at, fw->id) && push(env, list, &at, fw->used);
  r->replies = 0;
  relay_close(r);
  return counted ? list : NULL;
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
  fast_relay *r = relay_from(env, argv[0], &ok);
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

static bool push(napi_env env, napi_value list, uint32_t *at, double value) {
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
    if (!push(env, list, &at, totals[i])) return throw_errno(env, ENOMEM, "udpFastTake");
  f->datagrams_in = f->forward_errors = f->replies_out = f->reply_errors = f->malformed = f->fragmented = 0;
  /* counts first, then the entries, so each section is written in one pass */
  uint32_t count_at = at, count = 0;
  if (!push(env, list, &at, 0)) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) {
    for (forward *fw = r->forwards; fw != NULL; fw = fw->relay_next) {
      if (fw->used == 0) continue;
      if (!push(env, list, &at, fw->id) || !push(env, list, &at, fw->used)) return NULL;
      fw->used = 0;
      count++;
    }
  }
  if (!push(env, list, &count_at, count)) return NULL;
  count_at = at, count = 0;
  if (!push(env, list, &at, 0)) return NULL;
  for (fast_relay *r = f->relays; r != NULL; r = r->next) {
    if (r->replies == 0) continue;
    if (!push(env, list, &at, r->id) || !push(env, list, &at, r->replies)) return NULL;
    r->replies = 0;
    count++;
  }
  if (!push(env, list, &count_at, count)) return NULL;
  count_at = at, count = 0;
  if (!push(env, list, &at, 0)) return NULL;
  for (uint32_t i = 0; i <= f->reply_mask; i++) {
    for (reply_socket *s = f->replies[i]; s != NULL; s = s->next) {
      if (s->used == 0) continue;
      if (!push(env, list, &at, s->fd) || !push(env, list, &at, s->used)) return NULL;
      s->used = 0;
      count++;
    }
  }
  if (!push(env, list, &count_at, count)) return NULL;
  return list;
}
