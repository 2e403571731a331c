/*
 * delay-line: a userspace "wire" with a fixed one-way delay, for the socksgate benchmark
 * (scripts/bench). This machine has no sch_netem, so latency is added here instead.
 *
 *   delay-line IFACE_A IFACE_B ONE_WAY_DELAY_US
 *
 * Creates two TUN interfaces (IFF_TUN | IFF_NO_PI, so whole IP packets) in the current network
 * namespace, prints "ready" on stdout, then forwards every packet read from A to B and from B to
 * A after holding it for ONE_WAY_DELAY_US microseconds (so the round trip is twice that). Order
 * is kept per direction. The caller moves the interfaces into the namespaces it wants
 * (`ip link set A netns X`): the file descriptors keep working. Exact for latency; not meant for
 * throughput (one thread, one copy per packet, bounded queue: a full queue drops the packet and
 * counts it).
 *
 * Exits on SIGTERM/SIGINT, printing the packet counters on stderr; the TUN interfaces disappear
 * with the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SLOT_BYTES 2048 /* > the interfaces' MTU (1500) */
#define SLOTS 8192      /* per direction: 8192 packets in flight, ~800k packets/s at 10 ms */

struct packet {
  int64_t due_ns;
  uint16_t len;
  unsigned char data[SLOT_BYTES];
};

struct direction {
  int in_fd, out_fd;
  const char *name;
  struct packet *ring;
  size_t head, count; /* FIFO: the oldest packet at head */
  uint64_t forwarded, dropped, write_errors;
};

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int tun_open(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/net/tun");
    exit(1);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (strlen(name) >= IFNAMSIZ) {
    fprintf(stderr, "interface name too long: %s\n", name);
    exit(2);
  }
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "TUNSETIFF %s: %s\n", name, strerror(errno));
    exit(1);
  }
  return fd;
}

/* Read every packet waiting on the input side and queue it with its due time. */
static void drain_input(struct direction *d, int64_t delay_ns) {
  for (;;) {
    unsigned char scratch[SLOT_BYTES];
    struct packet *slot = d->count < SLOTS ? &d->ring[(d->head + d->count) % SLOTS] : NULL;
    unsigned char *buf = slot ? slot->data : scratch;
    ssize_t n = read(d->in_fd, buf, SLOT_BYTES);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) fprintf(stderr, "read %s: %s\n", d->name, strerror(errno));
      return;
    }
    if (n == 0) return;
    if (!slot) {
      d->dropped++;
      continue;
    }
    slot->len = (uint16_t)n;
    slot->due_ns = now_ns() + delay_ns;
    d->count++;
  }
}

/* Write out the packets whose time has come; returns the due time of the next one (or -1). */
static int64_t flush_due(struct direction *d, int64_t now) {
  while (d->count > 0) {
    struct packet *p = &d->ring[d->head];
    if (p->due_ns > now) return p->due_ns;
    ssize_t n = write(d->out_fd, p->data, p->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) d->write_errors++; /* interface down or queue full: the packet is lost, like on a wire */
    else d->forwarded++;
    d->head = (d->head + 1) % SLOTS;
    d->count--;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFACE_A IFACE_B ONE_WAY_DELAY_US\n", argv[0]);
    return 2;
  }
  long delay_us = strtol(argv[3], NULL, 10);
  if (delay_us < 0 || delay_us > 10000000) {
    fprintf(stderr, "bad delay %s\n", argv[3]);
    return 2;
  }
  const int64_t delay_ns = (int64_t)delay_us * 1000;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake up on time, not up to 50 us late */

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int a = tun_open(argv[1]);
  int b = tun_open(argv[2]);
  struct direction dirs[2] = {
      {.in_fd = a, .out_fd = b, .name = argv[1]},
      {.in_fd = b, .out_fd = a, .name = argv[2]},
  };
  for (int i = 0; i < 2; i++) {
    dirs[i].ring = calloc(SLOTS, sizeof(struct packet));
    if (!dirs[i].ring) {
      perror("calloc");
      return 1;
    }
  }
  printf("ready\n");
  fflush(stdout);

  while (!stopping) {
    int64_t now = now_ns();
    int64_t next = -1;
    for (int i = 0; i < 2; i++) {
      int64_t due = flush_due(&dirs[i], now);
      if (due >= 0 && (next < 0 || due < next)) next = due;
    }
    struct pollfd fds[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    struct timespec timeout, *tp = NULL;
    if (next >= 0) {
      int64_t wait = next - now_ns();
      if (wait < 0) wait = 0;
      timeout.tv_sec = wait / 1000000000LL;
      timeout.tv_nsec = wait % 1000000000LL;
      tp = &timeout;
    }
    int r = ppoll(fds, 2, tp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("ppoll");
      return 1;
    }
    if (fds[0].revents & POLLIN) drain_input(&dirs[0], delay_ns);
    if (fds[1].revents & POLLIN) drain_input(&dirs[1], delay_ns);
  }
  for (int i = 0; i < 2; i++) {
    fprintf(stderr, "%s -> %s: forwarded %llu, dropped %llu (queue full), write errors %llu\n", dirs[i].name,
            dirs[1 - i].name, (unsigned long long)dirs[i].forwarded, (unsigned long long)dirs[i].dropped,
            (unsigned long long)dirs[i].write_errors);
  }
  return 0;
}
