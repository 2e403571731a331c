import { errorCode, errorMessage } from '../core/errors.js';
import type { Config } from '../config/load.js';
import type { LoopGuard } from '../inbound/loop-guard.js';
import { startTproxyUdpInbound } from '../inbound/tproxy-udp.js';
import { openUdpSocket, type UdpListener } from '../native/index.js';
import { UdpFastPath, type FastTotals } from '../native/udp-fast.js';
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
  /** Brings the counters up to date with what the addon forwarded on its own. */
  sync(): void;
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
  // Fake-IP maps names datagram by datagram, in JavaScript: no fast path then.
  const fast = fakeIp
    ? undefined
    : new UdpFastPath({
        // Every remote a pair reaches needs a reply socket too: pairs past that bound stay in JavaScript.
        maxForwards: udp.max_reply_sockets,
        maxReplySockets: udp.max_reply_sockets,
        mark,
        onTotals: (t) => addTotals(counters, t),
      });
  const sync = () => fast?.sync();
  const replies = new ReplySockets({
    max: udp.max_reply_sockets,
    idleMs,
    open: (remote) => openUdpSocket(remote, { transparent: true, reuseAddr: true, mark }),
    counters,
    log: udpLog,
    fast,
    beforeSweep: sync,
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
    fast,
    beforeSweep: sync,
  });
  router.serveDatagrams(
    (src, dst, data, headroom, outbound, decidedAgain) => nat.handle(src, dst, data, headroom, outbound, undefined, decidedAgain),
    () => fast?.clearForwards(),
  );
  const listeners: UdpListener[] = [];
  try {
    for (const at of config.tproxy) {
      listeners.push(startTproxyUdpInbound(at, { guard, counters, log, reusePort: config.workers > 1, router, fast }));
    }
  } catch (err) {
    router.serveDatagrams(undefined);
    for (const l of listeners) l.close();
    nat.close();
    replies.close();
    fast?.close();
    throw Object.assign(new Error(`cannot listen for UDP: ${errorMessage(err)}`, { cause: err }), { code: errorCode(err) });
  }
  let logged = '';
  const timer = setInterval(() => {
    sync();
    const now = JSON.stringify(counters);
    if (now === logged) return;
    logged = now;
    udpLog.debug({ counters, associations: nat.size, replySockets: replies.size }, 'udp counters');
  }, COUNTERS_LOG_MS);
  timer.unref();
  return {
    counters,
    sizes: () => ({ associations: nat.size, replySockets: replies.size }),
    sync,
    stop() {
      clearInterval(timer);
      router.serveDatagrams(undefined);
      for (const l of listeners) l.close();
      nat.close();
      replies.close();
      fast?.close();
      udpLog.info({ counters }, 'udp stopped');
    },
  };
}

/** The addon's own counts: those no association or reply socket was told of one by one. */
function addTotals(c: UdpCounters, t: FastTotals): void {
  c.datagramsIn += t.datagramsIn;
  c.repliesOut += t.repliesOut;
  c.datagramsFastPath += t.datagramsIn + t.repliesOut + t.replyErrors;
  c.droppedSendError += t.forwardErrors + t.replyErrors;
  c.droppedMalformed += t.malformed;
  c.droppedFragmented += t.fragmented;
}
