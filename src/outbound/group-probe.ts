import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Outbound } from '../adapter/outbound.js';
import type { GroupMember } from './member-health.js';

/** A group's `check`, parsed. */
export interface ProbeTargets {
  readonly tcp: SocksAddr;
  readonly udp?: SocksAddr;
  readonly timeoutMs: number;
}

/** How often the group looks for a member whose probe is due (the probe times themselves come from each HealthState). */
const TICK_MS = 250;
/** Room in front of the probe's DNS query for the outbound's UDP headers (one per hop of a chain). */
const PROBE_HEADROOM = 1024;

/** A DNS query for the root's NS records, with a random id: any answer at all proves the path. */
function dnsProbeQuery(): { id: number; bytes: Buffer } {
  const id = Math.floor(Math.random() * 0x10000);
  const query = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
  return { id, bytes: Buffer.concat([Buffer.alloc(PROBE_HEADROOM), query]) };
}

/** A CONNECT to `target` through `outbound`; resolves with the failure's text (undefined: it worked) and the time taken. */
export async function probeTcp(outbound: Outbound, target: SocksAddr, timeoutMs: number): Promise<{ failure?: string; ms: number }> {
  const startedAt = performance.now();
  try {
    const socket = await outbound.dial(target, { flowId: 0, signal: AbortSignal.timeout(timeoutMs) });
    socket.destroy();
    return { ms: performance.now() - startedAt };
  } catch (err) {
    const code = errorCode(err);
    const failure = code === ErrorCode.ABORTED ? `probe timed out after ${timeoutMs} ms` : `${code}: ${errorMessage(err)}`;
    return { failure, ms: performance.now() - startedAt };
  }
}

/** UDP ASSOCIATE through `outbound` and one DNS query to `target`: 'up' when an answer came back. */
export async function probeUdp(outbound: Outbound, target: SocksAddr, timeoutMs: number): Promise<'up' | 'down' | 'unsupported'> {
  const signal = AbortSignal.timeout(timeoutMs);
  const { id, bytes } = dnsProbeQuery();
  let answered!: () => void;
  const answer = new Promise<void>((resolve) => (answered = resolve));
  try {
    const assoc = await outbound.associate({ kind: 'ipv4', host: '0.0.0.0', port: 0 }, { onReply: (_from, payload) => payload.length >= 2 && payload.readUInt16BE(0) === id && answered(), onClose: () => {} }, signal);
    try {
      const timedOut = new Promise<'down'>((resolve) => (signal.aborted ? resolve('down') : signal.addEventListener('abort', () => resolve('down'), { once: true })));
      assoc.send(target, bytes, PROBE_HEADROOM);
      return await Promise.race([answer.then(() => 'up' as const), timedOut]);
    } finally {
      assoc.close();
    }
  } catch (err) {
    return errorCode(err) === ErrorCode.UDP_UNSUPPORTED ? 'unsupported' : 'down';
  }
}

/** The active health checks of one group: each member probed when its HealthState says one is due. */
export class GroupProbes {
  private timer?: NodeJS.Timeout;
  private readonly running = new Set<GroupMember>();

  constructor(
    private readonly members: readonly GroupMember[],
    private readonly targets: ProbeTargets,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    for (const member of this.members) {
      if (this.running.has(member) || !member.health.probeDue()) continue;
      this.running.add(member);
      this.probe(member).finally(() => this.running.delete(member));
    }
  }

  private async probe(member: GroupMember): Promise<void> {
    const { health, outbound } = member;
    const wasUp = health.isUp;
    const { failure, ms } = await probeTcp(outbound, this.targets.tcp, this.targets.timeoutMs);
    health.probed(failure, failure === undefined ? ms : undefined);
    if (wasUp !== health.isUp) this.log.warn({ member: outbound.name, state: health.isUp ? 'up' : 'down' }, `member "${outbound.name}" is ${health.isUp ? 'up again (probe passed)' : `down: probe failed: ${failure}`}`);
    if (failure === undefined && this.targets.udp && health.view().udp !== 'unsupported') health.udpSeen(await probeUdp(outbound, this.targets.udp, this.targets.timeoutMs));
  }
}
