// What the fault suites share: the scripted client, short daemon timeouts, the two relay paths,
// and the check that the daemon came through a fault whole (alive, no fd left behind).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pollFds, settledFdCounts, waitForLog, type FdCounts, type Lab } from './lab.js';
import type { Daemon, LogLine } from './socksgate.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fault-client.mjs');

/** The daemon's connect and handshake deadlines in these suites: a silent peer is given up on after this. */
export const DEADLINE_MS = 500;
/** How soon after the failure point the client must see the failure. */
export const SEEN_WITHIN_MS = 1_000;
const SWITCH_PORT = 1100;
/** The pipe pool may keep the pipes of one flow's two directions (2 pairs) once a flow moved bytes. */
const POOLED_PIPE_FDS = 4;

/** The relay paths: the addon's splice path (default) and the Node socket path. */
export const RELAYS = [
  { name: 'splice', args: [] as string[] },
  { name: 'copy', args: ['--relay', 'copy'] },
] as const;

/** A config file with short connect/handshake deadlines; returns its path. */
export function shortDeadlinesConfig(lab: Lab): string {
  const file = path.join(lab.dir, 'short-deadlines.yaml');
  writeFileSync(file, `timeouts:\n  connect_ms: ${DEADLINE_MS}\n  handshake_ms: ${DEADLINE_MS}\n`);
  return file;
}

/** What a job of test/e2e/fixtures/fault-client.mjs saw (times: Date.now()). */
export interface ClientOutcome {
  startedAt: number;
  connectedAt?: number;
  firstByteAt?: number;
  endAt?: number;
  closedAt: number;
  resetAt?: number;
  pausedAt?: number;
  resumedAt?: number;
  /** ECONNRESET for a reset, 'timeout' when the client gave up, null for a clean close. */
  error: string | null;
  received: number;
  sha256In: string;
  sent: number;
  sha256Out: string;
}

export interface ClientJob {
  host: string;
  port: number;
  send?: string;
  sendBytes?: number;
  halfClose?: boolean;
  resetAfter?: number;
  pauseAfter?: number;
  pauseMs?: number;
  thenSend?: number;
  timeoutMs?: number;
}

export interface ClientRun {
  /** When the first byte arrived (the connection is mid-stream from then on). */
  readonly firstByte: Promise<number>;
  /** Resolves when the connection is closed. */
  readonly done: Promise<ClientOutcome>;
}

export interface FaultClients {
  /** Starts one connection. */
  start(job: ClientJob): ClientRun;
  /** Runs one connection; resolves when it is closed. */
  run(job: ClientJob): Promise<ClientOutcome>;
}

/** One fault-client process in the client namespace for the whole file (a node start per connection is slow). */
export async function startFaultClients(lab: Lab): Promise<FaultClients> {
  const proc = lab.spawn('client', process.execPath, [CLIENT], { name: 'fault-client', stdin: 'pipe' });
  await waitForLog(proc.logPath, /^ready$/m, 10_000);
  const jobs = new Map<number, { firstByte(at: number): void; done(out: ClientOutcome): void }>();
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (buffered + chunk.toString('utf8')).split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter((l) => l.startsWith('{'))) {
      const report = JSON.parse(line) as Partial<ClientOutcome> & { id: number };
      const job = jobs.get(report.id);
      if (report.closedAt === undefined) {
        job?.firstByte(report.firstByteAt!);
        continue;
      }
      jobs.delete(report.id);
      job?.done(report as ClientOutcome);
    }
  });
  let nextId = 0;
  const start = (job: ClientJob): ClientRun => {
    const id = ++nextId;
    const bound = (job.timeoutMs ?? 15_000) + 5_000;
    let firstByte!: (at: number) => void;
    const firstBytePromise = new Promise<number>((resolve) => (firstByte = resolve));
    const done = new Promise<ClientOutcome>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fault-client job ${id} did not report within ${bound} ms\n${proc.output()}`)), bound);
      jobs.set(id, {
        firstByte,
        done(out) {
          clearTimeout(timer);
          resolve(out);
        },
      });
      proc.stdin!.write(JSON.stringify({ id, ...job }) + '\n');
    });
    return { firstByte: firstBytePromise, done };
  };
  return { start, run: (job) => start(job).done };
}

/** The client was reset (not closed cleanly, not left hanging) with nothing received. */
export function assertResetEmpty(out: ClientOutcome, context: string): void {
  assert.equal(out.error, 'ECONNRESET', `the client sees a reset: ${JSON.stringify(out)}\n${context}`);
  assert.equal(out.received, 0, `no bytes before the reset: ${JSON.stringify(out)}`);
}

/** The client saw the end of its connection within SEEN_WITHIN_MS of `failedAt`. */
export function assertSeenInTime(out: ClientOutcome, failedAt: number, what: string): number {
  const late = out.closedAt - failedAt;
  assert.ok(late <= SEEN_WITHIN_MS, `${what}: the client saw it ${late} ms after the failure point (at most ${SEEN_WITHIN_MS})`);
  return late;
}

/** The daemon's fds once quiet: the baseline a fault must leave it at. */
export function fdBaseline(daemon: Daemon): Promise<FdCounts> {
  return settledFdCounts(daemon.proc.pid!);
}

/**
 * After a fault: the daemon is alive and, within a deadline, holds the sockets and other fds it held
 * before (pipes: at most the two pooled pairs more).
 */
export async function assertDaemonWhole(daemon: Daemon, baseline: FdCounts, what: string): Promise<void> {
  assert.equal(daemon.proc.exitCode, null, `${what}: the daemon exited\n${daemon.proc.output()}`);
  assert.equal(daemon.proc.signalCode, null, `${what}: the daemon was killed`);
  const back = (c: FdCounts) => c.sockets === baseline.sockets && c.other === baseline.other && c.pipes <= baseline.pipes + POOLED_PIPE_FDS;
  const now = await pollFds(daemon.proc.pid!, back, 5_000);
  assert.ok(back(now), `${what}: fds back to the baseline: before ${JSON.stringify(baseline)}, now ${JSON.stringify(now)}`);
}

/** The `count` warnings the daemon logs after its first `skip` lines (bounded wait: a flow's failure is logged as it ends). */
export async function warningsSince(daemon: Daemon, skip: number, count: number): Promise<LogLine[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const warnings = daemon.lines().slice(skip).filter((l) => l.level === 40);
    if (warnings.length >= count || Date.now() > deadline) {
      assert.equal(warnings.length, count, `one warning per failed flow:\n${warnings.map((l) => JSON.stringify(l)).join('\n')}`);
      return warnings;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface UpstreamSwitch {
  /** The daemon's upstream URL: one address, 192.0.2.1:1100 (pipelining off: no learning probe). */
  readonly url: string;
  /** From now on, new connections to that address reach `port` in the proxy namespace instead. */
  to(port: number): Promise<void>;
}

/**
 * One upstream address that leads to each faulty peer in turn (nat in the proxy namespace), so one
 * daemon goes through every fault: starting a daemon per fault is slower than the faults themselves.
 */
export async function upstreamSwitch(lab: Lab): Promise<UpstreamSwitch> {
  const table = 'table ip sg_switch {\n  chain prerouting {\n    type nat hook prerouting priority -100;\n  }\n}\n';
  await lab.exec('proxy', 'nft', ['-f', '-'], { input: table });
  const host = lab.addr.proxyClientSide;
  return {
    url: `socks5://${host}:${SWITCH_PORT}?pipelining=off`,
    async to(port) {
      const rule = `add rule ip sg_switch prerouting ip daddr ${host} tcp dport ${SWITCH_PORT} redirect to :${port}`;
      await lab.exec('proxy', 'nft', ['-f', '-'], { input: `flush chain ip sg_switch prerouting\n${rule}\n` });
      // A connection reset under the old rule leaves its conntrack entry in CLOSE for 10 s, and a SYN
      // from the same source port takes it up again with the old redirect: a daemon that picks that
      // port again would reach the previous peer (seen once: a refused CONNECT that reached Dante).
      await lab.exec('proxy', 'conntrack', ['-F'], { allowFail: true });
    },
  };
}
