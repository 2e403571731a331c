// Load: thousands of relayed connections at once, then waves of bursts and short connections, every
// one verified end to end (a unique payload echoed back intact, clean close); the daemon's memory
// and fds stay flat between waves and it never logs a failure.
//
//   node --import tsx --test --test-timeout=300000 test/e2e/load.test.ts    CI size (100–140 s on 2 busy cores)
//   scripts/load                                                             full size (SG_LOAD_FULL=1)
//
// client namespace: load-client.mjs → REDIRECT → socksgate → Dante (proxy namespace) → echo server
// (internet namespace). Dante needs no raised limit for 8,000 connections: it forks an i/o child
// per 32 of them (and a request child per CONNECT in progress), ramping up at 75–190 new connections
// a second here. SG_LOAD_UPSTREAM=microsocks (a thread per connection) takes it out of the picture.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { rssKiB } from '../../scripts/bench/util.js';
import { createLab, curl, LAB_ADDR, startDante, startEcho, startMicrosocks, type Lab, type SocksHandle } from './lab.js';
import { sleep } from './lab/process.js';
import { startLoadClient, type LoadClient, type Tally } from './load-client.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const FULL = process.env.SG_LOAD_FULL === '1';
const UPSTREAM = process.env.SG_LOAD_UPSTREAM ?? 'dante';
/**
 * Sizes, and when to measure: the daemon gives a burst's memory back 5–10 s after its flows end
 * (src/relay/memory-after-bursts.ts: two quiet 5 s checks), so RSS is read `settleMs` after each
 * wave, once that has surely happened; a wave must reach its MIN_PEAK (1,000 live flows) to count as
 * a burst. The deadline fails the run instead of letting it hang.
 */
const SIZE = FULL
  ? { concurrent: 8_000, waves: 5, waveSize: 5_000, sequential: 1_000_000, settleMs: 15_000, deadlineMs: 90 * 60_000 }
  : { concurrent: 2_000, waves: 3, waveSize: 1_500, sequential: 6_000, settleMs: 12_000, deadlineMs: 240_000 };
/** SG_LOAD_SEQUENTIAL=N: fewer (or more) sequential connections, for a machine too slow for 1,000,000 in time. */
function sequentialCount(): number {
  const text = process.env.SG_LOAD_SEQUENTIAL;
  if (text === undefined) return SIZE.sequential;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0) throw new Error(`SG_LOAD_SEQUENTIAL=${text}: expected a whole number of connections`);
  return count;
}
const PLAN = { ...SIZE, sequential: sequentialCount() };
/** Connections still opening at a time, and sequential lanes. */
const OPENING = 200;
const LANES = 32;
const ECHO_PORT = 7;
const METRICS = '127.0.0.1:9464';
/** PIPE_POOL_MAX in src/native/pipe-pool.c: empty pipes the splice relay may keep for good. */
const PIPE_POOL_FDS = 2 * 64;
const RSS_TOLERANCE = 0.1;

interface Sample {
  rssKiB: number;
  fds: number;
  sockets: number;
  pipes: number;
}

function sample(pid: number): Sample {
  let sockets = 0;
  let pipes = 0;
  const fds = readdirSync(`/proc/${pid}/fd`);
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('socket:')) sockets++;
      else if (target.startsWith('pipe:')) pipes++;
    } catch {
      /* closed since the listing */
    }
  }
  return { rssKiB: rssKiB(pid), fds: fds.length, sockets, pipes };
}

/** The soft RLIMIT_NOFILE this process (and so every lab process) starts with. */
function fileLimit(): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : 0;
}

const MiB = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

let lab: Lab;
let daemon: Daemon;
let client: LoadClient;
const deadline = Date.now() + PLAN.deadlineMs;

before(async () => {
  // Each side of 8,000 connections is 16,000 sockets in socksgate and in the upstream.
  const needed = 2 * PLAN.concurrent + 1_000;
  if (fileLimit() < needed) throw new Error(`the load test needs an fd limit of at least ${needed} (ulimit -n), not ${fileLimit()}`);
  lab = await createLab();
  await startEcho(lab, { port: ECHO_PORT });
  let upstream: SocksHandle;
  if (UPSTREAM === 'dante') upstream = await startDante(lab);
  else if (UPSTREAM === 'microsocks') upstream = await startMicrosocks(lab);
  else throw new Error(`SG_LOAD_UPSTREAM=${UPSTREAM}: expected dante or microsocks`);
  await applyRedirectRules(lab, 'client');
  // The client namespace tracks two connections per relayed one (app → socksgate, socksgate →
  // upstream); at ~1,000 a second, conntrack's 120 s TIME_WAIT would fill its table.
  await lab.exec('client', 'sysctl', ['-q', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait=10']);
  daemon = await startSocksgate(
    lab,
    'client',
    ['--upstream', `socks5://${upstream.host}:${upstream.port}`, '--mark', String(DAEMON_MARK), '--metrics', METRICS, '--control', 'off'],
    { name: 'sg-load', logLevel: 'info' },
  );
  client = await startLoadClient(lab, 'client', { host: LAB_ADDR.internet, port: ECHO_PORT }, deadline);
});
after(() => lab?.destroy());

function assertAllVerified(tally: Tally, expected: number, what: string): void {
  assert.deepEqual({ ok: tally.ok, failed: tally.failed, errors: tally.errors }, { ok: expected, failed: 0, errors: [] }, `${what}: every connection verified`);
}

/** Opens `count` connections, checks the daemon carries them all at once, closes them. */
async function burst(count: number, what: string, log: (msg: string) => void): Promise<Sample> {
  const pid = daemon.proc.pid!;
  const opened = await client.run({ op: 'hold', count, opening: OPENING }, deadline);
  assertAllVerified(opened, count, `${what}: open`);
  const held = sample(pid);
  // Each relayed connection is two sockets in the daemon (client side, upstream side).
  assert.ok(held.sockets >= 2 * count, `${what}: ${count} connections held through the daemon, it has ${held.sockets} sockets`);
  const closed = await client.run({ op: 'release' }, deadline);
  assertAllVerified(closed, count, `${what}: close`);
  log(`${what}: ${count} held at once (${opened.ms} ms to open), daemon ${held.fds} fds, RSS ${MiB(held.rssKiB)}; closed in ${closed.ms} ms`);
  return held;
}

test(
  `load: ${PLAN.concurrent} concurrent connections, then ${PLAN.waves} waves of ${PLAN.waveSize} and ${PLAN.sequential} sequential ones, all verified end to end; RSS and fds flat between waves`,
  { timeout: PLAN.deadlineMs + 60_000 },
  async (t) => {
    const started = Date.now();
    const log = (msg: string) => {
      const line = `[${((Date.now() - started) / 1000).toFixed(0)} s] ${msg}`;
      t.diagnostic(line);
      // node --test reports diagnostics when the test ends; the long run shows its progress as it goes.
      if (FULL) process.stderr.write(`${line}\n`);
    };
    const pid = daemon.proc.pid!;
    const idle = sample(pid);
    log(`${UPSTREAM} upstream; daemon idle: ${idle.fds} fds (${idle.sockets} sockets, ${idle.pipes} pipes), RSS ${MiB(idle.rssKiB)}`);

    const peak = await burst(PLAN.concurrent, 'concurrent', log);

    const waves: Sample[] = [];
    for (let w = 1; w <= PLAN.waves; w++) {
      // The sequential connections are spread over the waves, so a leak per connection shows as growth between them.
      const count = Math.floor((PLAN.sequential * w) / PLAN.waves) - Math.floor((PLAN.sequential * (w - 1)) / PLAN.waves);
      const short = await client.run({ op: 'sequential', count, lanes: LANES }, deadline);
      assertAllVerified(short, count, `wave ${w}: sequential`);
      log(`wave ${w}: ${count} sequential connections in ${short.ms} ms (${Math.round(count / (short.ms / 1000))}/s)`);
      await burst(PLAN.waveSize, `wave ${w}`, log);
      await sleep(PLAN.settleMs);
      const settled = sample(pid);
      waves.push(settled);
      log(`wave ${w}: ${PLAN.settleMs / 1000} s after: RSS ${MiB(settled.rssKiB)}, ${settled.fds} fds (${settled.sockets} sockets, ${settled.pipes} pipes)`);
    }

    const first = waves[0]!;
    waves.forEach((wave, i) => {
      const change = (wave.rssKiB - first.rssKiB) / first.rssKiB;
      assert.ok(Math.abs(change) <= RSS_TOLERANCE, `wave ${i + 1}: RSS ${MiB(wave.rssKiB)} is ${(change * 100).toFixed(1)} % off wave 1's ${MiB(first.rssKiB)}`);
      // Every connection's sockets are gone; only the splice relay's pipe pool may differ.
      assert.equal(wave.sockets, first.sockets, `wave ${i + 1}: sockets left over`);
      assert.ok(Math.abs(wave.fds - first.fds) <= PIPE_POOL_FDS, `wave ${i + 1}: ${wave.fds} fds, wave 1 had ${first.fds}`);
    });

    // Every connection went through the daemon and ended cleanly there too.
    const total = PLAN.concurrent + PLAN.waves * PLAN.waveSize + PLAN.sequential;
    const scrape = await curl(lab, 'client', `http://${METRICS}/metrics`);
    assert.equal(scrape.code, 0, scrape.stderr);
    const counted = (outcome: string) =>
      scrape.body
        .split('\n')
        .filter((l) => l.startsWith('socksgate_flows_total{') && l.includes(`outcome="${outcome}"`))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    assert.equal(counted('closed'), total, 'flows the daemon counted as closed cleanly');
    assert.deepEqual(
      scrape.body.split('\n').filter((l) => l.startsWith('socksgate_flow_failures_total{')),
      [],
      'flow failures the daemon counted',
    );
    assert.equal(daemon.proc.exitCode, null, 'the daemon is still running');
    assert.deepEqual(
      daemon.lines().filter((l) => l.level >= 40),
      [],
      'warnings or errors the daemon logged',
    );
    log(`${total} connections verified in ${((Date.now() - started) / 1000).toFixed(0)} s; peak ${peak.fds} fds with ${PLAN.concurrent} held`);
  },
);
