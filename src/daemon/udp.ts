import { errorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import type { LoopGuard } from '../inbound/loop-guard.js';
import { startTproxyUdpInbound } from '../inbound/tproxy-udp.js';
import { openUdpSocket, type UdpListener } from '../native/index.js';
import type { Logger } from '../core/log.js';
import type { FakeDestinations } from '../relay/udp-fake-names.js';
import type { UdpCounters } from '../adapter/udp-counters.js';
import type { FlowRouter } from '../route/router.js';
import { UdpNat } from '../relay/udp-nat.js';
import { ReplySockets } from '../relay/udp-reply-sockets.js';

/** How often the counters are logged (at debug) while they change. */
const COUNTERS_LOG_MS = 10_000;

export interface UdpService {
  readonly counters: UdpCounters;
  /** Open associations and reply sockets now (metrics, status). */
  sizes(): { associations: number; replySockets: number };
  stop(): void;
}

export interface UdpServiceDeps {
  /** Decides each new association's outbound, and takes the listeners' datagrams. */
  readonly router: FlowRouter;
  readonly guard: LoopGuard;
  /** Kept by the daemon across reloads, so the counters only grow. */
  readonly counters: UdpCounters;
  readonly log: Logger;
  /** Fake-IP: sends pool addresses upstream by name. */
  readonly fakeIp?: FakeDestinations;
}

/** UDP on every TPROXY listener: inbound → router → association table → upstream relays → reply sockets. */
export function startUdpService(config: Config, deps: UdpServiceDeps): UdpService | undefined {
  if (config.tproxy.length === 0) return undefined;
  const { router, guard, counters, log, fakeIp } = deps;
  const udpLog = log.child({ network: 'udp' });
  const { udp, mark } = config;
  const idleMs = udp.timeout_s * 1000;
  const replies = new ReplySockets({
    max: udp.max_reply_sockets,
    idleMs,
    open: (remote) => openUdpSocket(remote, { transparent: true, reuseAddr: true, mark }),
    counters,
    log: udpLog,
  });
  const nat = new UdpNat({
    maxAssociations: udp.max_associations,
    maxPendingAssociations: udp.max_pending_associations,
    idleMs,
    queueDatagrams: udp.queue_datagrams,
    queueBytes: udp.queue_bytes,
    fakeIp,
    deliver: (from, client, payload) => replies.send(from, client, payload),
    counters,
    log: udpLog,
  });
  router.serveDatagrams((src, dst, data, headroom, outbound) => nat.handle(src, dst, data, headroom, outbound));
  const listeners: UdpListener[] = [];
  try {
    for (const at of config.tproxy) {
      listeners.push(startTproxyUdpInbound(at, { guard, counters, log, reusePort: config.workers > 1, router }));
    }
  } catch (err) {
    router.serveDatagrams(undefined);
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
      router.serveDatagrams(undefined);
      for (const l of listeners) l.close();
      nat.close();
      replies.close();
      udpLog.info({ counters }, 'udp stopped');
    },
  };
}
