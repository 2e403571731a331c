import { errorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import type { LoopGuard } from '../inbound/loop-guard.js';
import { startTproxyUdpInbound } from '../inbound/tproxy-udp.js';
import { openUdpSocket, type UdpListener } from '../native/index.js';
import type { Logger } from '../core/log.js';
import { NoUdpDialer, Socks5UdpDialer } from '../outbound/socks5-udp.js';
import type { UdpDialer } from '../adapter/udp.js';
import type { MapDestination } from '../relay/udp-fake-names.js';
import { createUdpCounters, type UdpCounters } from '../adapter/udp-counters.js';
import { UdpNat } from '../relay/udp-nat.js';
import { ReplySockets } from '../relay/udp-reply-sockets.js';
import { createRouter } from '../route/router.js';

/** After an upstream refused UDP ASSOCIATE, ask it again only this often. */
const RETRY_NO_UDP_MS = 30_000;
/** How often the counters are logged (at debug) while they change. */
const COUNTERS_LOG_MS = 10_000;

export interface UdpService {
  readonly counters: UdpCounters;
  /** Open associations and reply sockets now (metrics, status). */
  sizes(): { associations: number; replySockets: number };
  stop(): void;
}

/**
 * UDP on every TPROXY listener: inbound → association table → upstream relays → reply sockets.
 * `mapDestination` (fake-IP mode) sends pool addresses upstream by name.
 */
export function startUdpService(config: Config, guard: LoopGuard, log: Logger, mapDestination?: MapDestination): UdpService | undefined {
  if (config.tproxy.length === 0) return undefined;
  const udpLog = log.child({ network: 'udp' });
  const counters = createUdpCounters();
  const { udp, mark } = config;
  const idleMs = udp.timeout_s * 1000;
  const settings = {
    mark,
    connectTimeoutMs: config.timeouts.connect_ms,
    handshakeTimeoutMs: config.timeouts.handshake_ms,
    sendSource: udp.send_source,
    retryNoUdpMs: RETRY_NO_UDP_MS,
    openSocket: (family: 'ipv4' | 'ipv6') => openUdpSocket(family === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 }, { mark }),
  };
  const dialers: UdpDialer[] = config.upstreams.map((upstream) =>
    upstream.protocol === 'socks5'
      ? new Socks5UdpDialer(upstream, settings, counters, udpLog.child({ upstream: upstream.name }))
      : new NoUdpDialer(upstream.name, udpLog.child({ upstream: upstream.name })),
  );
  const replies = new ReplySockets({
    max: udp.max_reply_sockets,
    idleMs,
    open: (remote) => openUdpSocket(remote, { transparent: true, reuseAddr: true, mark }),
    counters,
    log: udpLog,
  });
  const nat = new UdpNat({
    maxAssociations: udp.max_associations,
    idleMs,
    queueDatagrams: udp.queue_datagrams,
    queueBytes: udp.queue_bytes,
    pickDialer: createRouter(dialers),
    mapDestination,
    deliver: (from, client, payload) => replies.send(from, client, payload),
    counters,
    log: udpLog,
  });
  const listeners: UdpListener[] = [];
  try {
    for (const at of config.tproxy) {
      listeners.push(startTproxyUdpInbound(at, { guard, counters, log, reusePort: config.workers > 1, onDatagram: (src, dst, data, headroom) => nat.handle(src, dst, data, headroom) }));
    }
  } catch (err) {
    for (const l of listeners) l.close();
    nat.close();
    replies.close();
    throw Object.assign(new Error(`cannot listen for UDP: ${errorMessage(err)}`, { cause: err }), { code: errorCode(err) });
  }
  let logged = '';
  const timer = setInterval(() => {
    const now = JSON.stringify(counters);
    if (now === logged) return;
    logged = now;
    udpLog.debug({ counters, associations: nat.size, replySockets: replies.size }, 'udp counters');
  }, COUNTERS_LOG_MS);
  timer.unref();
  return {
    counters,
    sizes: () => ({ associations: nat.size, replySockets: replies.size }),
    stop() {
      clearInterval(timer);
      for (const l of listeners) l.close();
      nat.close();
      replies.close();
      udpLog.info({ counters }, 'udp stopped');
    },
  };
}
