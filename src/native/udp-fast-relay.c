/*
 * The relays of the established UDP path (see udp-fast.c): the queue that sends a batch with
 * sendmmsg (pairs to their relay, replies to their client), a relay socket's reads (recvmmsg, the
 * SOCKS5 UDP header checked and stripped, or none on a direct socket), and the TPROXY listener's
 * offer of each datagram to the established pairs.
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

void relay_close(fast_relay *r) {
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

/* ---- JavaScript entry points: the relays ---- */
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


napi_value UdpFastRelayClose(napi_env env, napi_callback_info info) {
  napi_value argv[1], list;
  bool ok;
  uint32_t at = 0;
  if (!get_args(env, info, 1, argv)) return NULL;
  fast_relay *r = handle_box_target(env, argv[0], &ok);
  if (!ok) return NULL;
  CHECK_NAPI(napi_create_array(env, &list));
  if (r == NULL) return list;
  /* what it did since the last take, so that closing one needs no take of everything */
  bool counted = push_number(env, list, &at, r->replies);
  for (forward *fw = r->forwards; counted && fw != NULL; fw = fw->relay_next)
    if (fw->used > 0) counted = push_number(env, list, &at, fw->id) && push_number(env, list, &at, fw->used);
  r->replies = 0;
  relay_close(r);
  return counted ? list : NULL;
}
