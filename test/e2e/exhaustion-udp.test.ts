// The UDP path under a flood of new peers, through Dante with the TPROXY UDP recipe: datagrams from
// 100,000 distinct client address:ports (10,000 in a default run), then one client to 10,000
// distinct remote ports (2,000). The daemon stays up, its association table never holds more than
// udp.max_associations, the associations opening at once stay under udp.max_pending_associations
// (the datagrams of further new clients are dropped and counted), its fds and memory stay bounded,
// and a plain UDP echo works afterwards. Rate-bounded: the sender opens a batch of sockets at a time.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { readSnapshot } from '../../src/cli/status.js';
import { createLab, fdCounts, LAB_IFACE, maxBetween, rssKiB, sample, settledFdCounts, startDante, startUdpEcho, suiteSize, type Lab } from './lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { finalUdpCounters, udpClient } from './udp-helpers.js';

const SPRAY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'udp-spray.mjs');
const ECHO = 7001;
const REMOTES_FROM = 20_000;
const SOURCES = suiteSize(10_000, 100_000);
const REMOTES = suiteSize(2_000, 10_000);
/**
 * Extra client addresses: 3 × 33,334 ports give 100,000 distinct sources, from above the TPROXY
 * listener's port (bound on every address) to below the ephemeral range.
 */
const CLIENT_ADDRS = ['192.0.2.3', '192.0.2.4', '192.0.2.5'];
const SOURCE_PORTS_FROM = 13_000;
/** The daemon's own sockets (to Dante) take ephemeral ports from here: never one a source needs. */
const EPHEMERAL = 'net.ipv4.ip_local_port_range=50000 65000';
/** Small enough that a default run fills the table: Dante opens ~100 associations a second here. */
const LIMITS = { max_associations: 128, max_pending_associations: 32, max_reply_sockets: 128 };
/** A bound well above what the daemon needs (~60 MiB idle), far below what unbounded tables would take. */
const RSS_BOUND_MIB = 160;

let lab: Lab;
let upstream: string;
let config: string;

before(async () => {
  lab = await createLab();
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
  await startUdpEcho(lab, { ports: [ECHO], range: [REMOTES_FROM, REMOTES_FROM + REMOTES - 1], hosts: [lab.addr.internet], timeoutMs: 60_000 });
  await lab.exec('client', 'sysctl', ['-q', '-w', EPHEMERAL]);
  for (const addr of CLIENT_ADDRS) await lab.exec('client', 'ip', ['addr', 'add', `${addr}/24`, 'dev', LAB_IFACE.clientToProxy]);
  await applyTproxyUdpRules(lab, 'client');
  config = path.join(lab.dir, 'udp-exhaustion.yaml');
  writeFileSync(config, `udp:\n${Object.entries(LIMITS).map(([k, v]) => `  ${k}: ${v}\n`).join('')}  timeout_s: 30\n`);
});
after(() => lab?.destroy());

async function spray(spec: Record<string, unknown>): Promise<{ sent: number; replies: number; distinct: number; skipped: number; wrongSource: number; ms: number }> {
  const r = await lab.exec('client', process.execPath, [SPRAY, JSON.stringify(spec)], { timeoutMs: 600_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** The client namespace's count of datagrams the kernel dropped for a full socket buffer. */
async function rcvbufErrors(): Promise<number> {
  const snmp = (await lab.exec('client', 'cat', ['/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = snmp.map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf('RcvbufErrors')]);
}

/** The daemon's fds, RSS and association count, sampled while `body` runs. */
async function watched<T>(daemon: Daemon, control: string, body: () => Promise<T>) {
  const pid = daemon.proc.pid!;
  const fds = sample(() => fdCounts(pid).total);
  const rss = sample(() => rssKiB(pid));
  let peakAssociations = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const s = await readSnapshot(control);
      peakAssociations = Math.max(peakAssociations, s.udp?.associations ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const result = await body();
    return { result, peakFds: maxBetween(fds.stop()), peakRssMiB: maxBetween(rss.stop()) / 1024, peakAssociations };
  } finally {
    polling = false;
    await poller;
  }
}

async function startDaemon(name: string): Promise<{ daemon: Daemon; control: string }> {
  const control = path.join(lab.dir, `${name}.sock`);
  const daemon = await startSocksgate(lab, 'client', ['--config', config, '--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`, '--control', control], { name });
  return { daemon, control };
}

const echoOnce = () => udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 2 }] });

test(`datagrams from ${SOURCES} client ports: the table stays within its bounds, fds and memory bounded, echo works after`, async (t) => {
  const { daemon, control } = await startDaemon('sg-udp-sources');
  let kernelDropped = 0;
  try {
    assert.equal((await echoOnce()).received, 2);
    const baseline = await settledFdCounts(daemon.proc.pid!);
    const droppedBefore = await rcvbufErrors();
    const w = await watched(daemon, control, () =>
      spray({ mode: 'sources', to: `${lab.addr.internet}:${ECHO}`, addresses: CLIENT_ADDRS, fromPort: SOURCE_PORTS_FROM, count: SOURCES, batch: 1000, waitMs: 500 }),
    );
    kernelDropped = (await rcvbufErrors()) - droppedBefore;
    assert.equal(w.result.skipped, 0, JSON.stringify(w.result));
    assert.equal(w.result.sent, SOURCES);
    assert.ok(w.peakAssociations <= LIMITS.max_associations, `at most ${LIMITS.max_associations} associations, saw ${w.peakAssociations}`);
    // Open and opening associations hold a control connection and a UDP socket each; the reply sockets one fd each.
    const fdBound = baseline.total + 2 * (LIMITS.max_associations + LIMITS.max_pending_associations) + LIMITS.max_reply_sockets + 16;
    assert.ok(w.peakFds <= fdBound, `fds peaked at ${w.peakFds}, bound ${fdBound}`);
    assert.ok(w.peakRssMiB <= RSS_BOUND_MIB, `RSS peaked at ${w.peakRssMiB.toFixed(1)} MiB`);
    assert.equal(daemon.proc.exitCode, null, 'the daemon is up');
    const after = await echoOnce();
    assert.equal(after.received, 2, `a plain echo works afterwards: ${JSON.stringify(after)}`);
    t.diagnostic(
      `${w.result.sent} sources in ${w.result.ms} ms, ${w.result.distinct} answered within 500 ms; peak ${w.peakAssociations} associations, ${w.peakFds} fds (baseline ${baseline.total}, bound ${fdBound}), RSS ${w.peakRssMiB.toFixed(1)} MiB; the kernel dropped ${kernelDropped} for a full socket buffer`,
    );
  } finally {
    assert.equal(await daemon.stop(), 0);
    t.diagnostic(`counters: ${JSON.stringify(finalUdpCounters(daemon))}`);
  }
  const counters = finalUdpCounters(daemon);
  assert.ok(counters.droppedPendingLimit > 0, `the pending limit held new clients back: ${JSON.stringify(counters)}`);
  assert.ok(counters.associationsEvicted > 0, `the table was full and evicted: ${JSON.stringify(counters)}`);
  // Each datagram reached the daemon or was dropped by the kernel for a full socket buffer: none vanished.
  assert.ok(counters.datagramsIn + kernelDropped >= SOURCES, `${counters.datagramsIn} read + ${kernelDropped} dropped by the kernel < ${SOURCES}`);
  // Never more opening at once than the limit: the drop warning says how many were.
  const held = daemon.lines().filter((l) => /udp.max_pending_associations/.test(l.msg));
  assert.ok(held.length > 0 && held.every((l) => l.opening === LIMITS.max_pending_associations), JSON.stringify(held));
});

test(`one client to ${REMOTES} remote ports: every reply from its remote, reply sockets within their bound`, async (t) => {
  const { daemon, control } = await startDaemon('sg-udp-remotes');
  try {
    assert.equal((await echoOnce()).received, 2);
    const baseline = await settledFdCounts(daemon.proc.pid!);
    const w = await watched(daemon, control, () => spray({ mode: 'remotes', host: lab.addr.internet, fromPort: REMOTES_FROM, count: REMOTES, window: 32, timeoutMs: 1_000, retries: 3 }));
    assert.equal(w.result.distinct, REMOTES, JSON.stringify(w.result));
    assert.equal(w.result.wrongSource, 0, JSON.stringify(w.result));
    const fdBound = baseline.total + LIMITS.max_reply_sockets + 16;
    assert.ok(w.peakFds <= fdBound, `fds peaked at ${w.peakFds}, bound ${fdBound}`);
    assert.ok(w.peakRssMiB <= RSS_BOUND_MIB, `RSS peaked at ${w.peakRssMiB.toFixed(1)} MiB`);
    assert.equal((await echoOnce()).received, 2, 'a plain echo works afterwards');
    t.diagnostic(`${REMOTES} remotes in ${w.result.ms} ms (${w.result.sent} sent); peak ${w.peakFds} fds (baseline ${baseline.total}, bound ${fdBound}), RSS ${w.peakRssMiB.toFixed(1)} MiB`);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const counters = finalUdpCounters(daemon);
  assert.ok(counters.replySocketsEvicted >= REMOTES - LIMITS.max_reply_sockets, JSON.stringify(counters));
});
