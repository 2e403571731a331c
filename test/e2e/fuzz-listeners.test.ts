// Live fuzz of every listener: the daemon runs through its CLI in the client namespace with a
// REDIRECT listener, a TPROXY listener (TCP and UDP), a DNS listener (UDP and TCP), the local
// SOCKS/HTTP proxy inbound, metrics and the control socket, and for SG_FUZZ_LIVE_S seconds (15 in CI; scripts/fuzz: 600) a fuzz client there
// (fixtures/listener-fuzz.mjs) sends random bytes over many short connections and random datagrams
// to each of them, and to diverted destinations (so sniffing and relaying see them too). Connections
// straight to the REDIRECT or TPROXY port are refused by design (no original destination, or a loop
// to the listener itself); that refusal is part of what is fuzzed. Afterwards the daemon must still
// be running and relay a real curl through Dante byte for byte, answer DNS, metrics and status; its
// RSS must stay within 1.5x its warmed-up RSS (the highest during a 5 s burst of the same fuzz) plus
// 128 MiB, during the fuzz and after it, and its open file descriptors must come back to where they
// were after the warm-up (pipes apart: the splice relay pools up to 64 empty ones for reuse).
// The 128 MiB are the V8 heap's sawtooth under this load: over 10 minutes it grows from ~20 to
// ~100 MiB between major collections and falls back, so RSS swings by that much without a leak.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import {
  createLab,
  curl,
  fdCounts,
  maxBetween,
  pollFds,
  rssKiB,
  sample,
  settledFdCounts,
  startDante,
  startDnsmasq,
  startEcho,
  startNginx,
  startUdpEcho,
  type FdCounts,
  type Lab,
  type NginxHandle,
  type SocksHandle,
} from './lab.js';
import { applyRedirectRules, applyTproxyUdpRules, DAEMON_MARK, REDIRECT_PORT, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { digShort } from './udp-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');
const LIVE_S = Number(process.env.SG_FUZZ_LIVE_S ?? 15);
const SEED = Number(process.env.SG_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const DNS = '127.0.0.53';
const METRICS = '127.0.0.1:9464';
const SOCKS = '127.0.0.1:1080';
const ECHO_TCP = 7;
const ECHO_UDP = 7001;
/** Associations expire after 2 s, so the file descriptors they hold are back within the settle wait. */
const UDP_TIMEOUT_S = 2;
const MIB = 1024 * 1024;
const WARM_UP_S = 5;
/** Room for the V8 heap's growth between major collections under the fuzz (see the top). */
const HEAP_SAWTOOTH = 128 * MIB;

let lab: Lab;
let nginx: NginxHandle;
let dante: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startEcho(lab, { port: ECHO_TCP });
  await startUdpEcho(lab, { ports: [ECHO_UDP], hosts: [lab.addr.internet] });
  await startDnsmasq(lab, { quiet: true, ttl: 60 });
  dante = await startDante(lab, { port: 1080 });
  await applyRedirectRules(lab, 'client');
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

const rssBytes = (pid: number) => rssKiB(pid) * 1024;
/** The splice relay keeps up to this many empty pipes (two descriptors each) for reuse: src/native/pipe-pool.c. */
const PIPE_POOL_MAX = 64;
/** Descriptors that must come back to the baseline: all but the pooled (bounded) pipes. */
const notPipes = (c: FdCounts) => c.total - c.pipes;

/** What each open descriptor is (socket:[inode], pipe:[inode], anon_inode:[eventfd], a path), to name a leak. */
function fdTargets(pid: number): Map<string, string> {
  const targets = new Map<string, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return targets;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every listener, straight, plus destinations the rules divert to the daemon (TCP by REDIRECT, UDP by TPROXY). */
function targets(control: string) {
  const { internet, extraTarget } = lab.addr;
  return {
    tcp: [
      `127.0.0.1:${REDIRECT_PORT}`,
      SOCKS,
      `127.0.0.1:${TPROXY_PORT}`,
      `[::1]:${TPROXY_PORT}`,
      `${DNS}:53`,
      METRICS,
      control,
      `${internet}:80`,
      `${internet}:${ECHO_TCP}`,
      `${extraTarget}:9`,
    ],
    udp: [`127.0.0.1:${TPROXY_PORT}`, `[::1]:${TPROXY_PORT}`, `${DNS}:53`, `${internet}:${ECHO_UDP}`, `${extraTarget}:9`],
  };
}

interface FuzzReport {
  seed: number;
  connections: number;
  refused: number;
  resetByPeer: number;
  otherErrors: Record<string, number>;
  datagrams: number;
  perTarget: Record<string, number>;
}

async function fuzz(control: string, seconds: number, seed: number): Promise<FuzzReport> {
  const spec = { seed, durationMs: seconds * 1000, ...targets(control) };
  const r = await lab.exec('client', process.execPath, [path.join(FIXTURES, 'listener-fuzz.mjs'), JSON.stringify(spec)], { timeoutMs: seconds * 1000 + 30_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FuzzReport;
}

/** `fuzz`, sampling the daemon's RSS and descriptors every 200 ms: their peaks. */
async function sampledFuzz(pid: number, control: string, seconds: number, seed: number): Promise<{ report: FuzzReport; peakRss: number; peakFds: number }> {
  const rss = sample(() => rssBytes(pid), 200);
  const fds = sample(() => fdCounts(pid).total, 200);
  const peaks = () => ({ peakRss: maxBetween(rss.stop()), peakFds: maxBetween(fds.stop()) });
  let report: FuzzReport;
  try {
    report = await fuzz(control, seconds, seed);
  } catch (err) {
    peaks();
    throw err;
  }
  return { report, ...peaks() };
}

/** The daemon's sockets as `ss` shows them (state, addresses): what a leak consists of. */
async function socketsOf(pid: number): Promise<string> {
  const r = await lab.exec('client', 'ss', ['-Hantupx', '-p'], { allowFail: true });
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.replace(/\s+/g, ' ')).join('\n');
}

/** Dante logs `tcp/connect [` when it opens a CONNECT, naming the destination as host.port. */
function danteConnects(dst: string): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes('tcp/connect [') && l.includes(` ${dst}`)).length;
}

/** What a user of each listener sees: a page through Dante, a DNS answer, metrics, status. */
async function assertServing(daemon: Daemon, control: string): Promise<void> {
  assert.equal(daemon.proc.exitCode, null, `the daemon exited:\n${daemon.proc.output()}`);
  const web = `${lab.addr.internet}.80`;
  const carried = danteConnects(web);
  const page = await curl(lab, 'client', nginx.url('/small.txt'));
  assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
  assert.equal(page.body, nginx.smallText);
  assert.equal(danteConnects(web), carried + 1, 'the page came through Dante');
  const dig = await digShort(lab, 'client', DNS, 'web.lab.test');
  assert.deepEqual(dig.answer, [lab.addr.internet], dig.output);
  const metrics = await curl(lab, 'client', `http://${METRICS}/metrics`);
  assert.match(metrics.body, /^socksgate_flows_total/m, metrics.stderr);
  const status = await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 });
  assert.match(status.stdout, /dante/, status.stdout);
}

test(`live fuzz: random bytes to every TCP and UDP listener for ${LIVE_S} s; the daemon stays up, serving, memory and fds bounded`, async () => {
  const config = path.join(lab.dir, 'fuzz.yaml');
  const control = path.join(lab.dir, 'control.sock');
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - url: socks5://${dante.host}:${dante.port}`,
      '    name: dante',
      `redirect: ['127.0.0.1:${REDIRECT_PORT}']`,
      `tproxy: ['[::]:${TPROXY_PORT}']`,
      // A short handshake deadline: a silent fuzz connection to the proxy inbound is closed before the fds are counted.
      `inbounds: { socks: [{ listen: '${SOCKS}' }] }`,
      'timeouts: { handshake_ms: 2000 }',
      'dns:',
      `  listen: ${DNS}:53`,
      `  upstreams: [tcp://${lab.addr.internet}:53]`,
      'sniff: { enabled: true }',
      `udp: { timeout_s: ${UDP_TIMEOUT_S}, max_associations: 64, max_reply_sockets: 64 }`,
      '',
    ].join('\n'),
  );
  const daemon = await startSocksgate(lab, 'client', ['--config', config, '--mark', String(DAEMON_MARK), '--metrics', METRICS, '--control', control], {
    name: 'sg-fuzz',
    logLevel: 'info',
  });
  const pid = daemon.proc.pid!;
  let exitCode: number | null;
  try {
    // Warm-up: every path once for real, then a short burst of the same fuzz (its working set is
    // the warmed-up RSS), then quiet until the associations have expired.
    await assertServing(daemon, control);
    const warm = await sampledFuzz(pid, control, WARM_UP_S, SEED ^ 0x5eed);
    await sleep((UDP_TIMEOUT_S + 1) * 1000);
    const baseline = await settledFdCounts(pid, 1_000, 10_000);
    const baselineFds = notPipes(baseline);
    const baselineTargets = fdTargets(pid);
    const warmRss = Math.max(warm.peakRss, rssBytes(pid));

    const { report, peakRss, peakFds } = await sampledFuzz(pid, control, LIVE_S, SEED);
    const settled = await pollFds(pid, (c) => notPipes(c) <= baselineFds, (UDP_TIMEOUT_S + 15) * 1000);
    const fds = notPipes(settled);
    const endRss = rssBytes(pid);
    const bound = 1.5 * warmRss + HEAP_SAWTOOTH;
    const figures = `seed ${report.seed}: ${report.connections} connections, ${report.datagrams} datagrams; RSS warm ${(warmRss / MIB).toFixed(1)} MiB, peak ${(peakRss / MIB).toFixed(1)}, end ${(endRss / MIB).toFixed(1)}, bound ${(bound / MIB).toFixed(1)}; fds (pipes apart) baseline ${baselineFds}, end ${fds}, all at peak ${peakFds}; pipes baseline ${baseline.pipes}, end ${settled.pipes}`;
    console.log(`live fuzz: ${figures}; per target ${JSON.stringify(report.perTarget)}; refused ${report.refused}, reset ${report.resetByPeer}, other ${JSON.stringify(report.otherErrors)}`);

    assert.ok(report.connections > 0 && report.datagrams > 0, figures);
    for (const target of [...targets(control).tcp, ...targets(control).udp]) assert.ok(report.perTarget[target] > 0, `nothing reached ${target}: ${figures}`);
    assert.ok(peakRss <= bound && endRss <= bound, `RSS over the bound: ${figures}`);
    assert.ok(settled.pipes <= baseline.pipes + 2 * PIPE_POOL_MAX, `more pipes than the splice pool holds: ${figures}`);
    if (fds > baselineFds) {
      const added = [...fdTargets(pid)].filter(([fd, target]) => baselineTargets.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
      assert.fail(`file descriptors did not come back: ${figures}\nnew since the warm-up: ${added.join(', ')}\n${await socketsOf(pid)}`);
    }
    await assertServing(daemon, control);
    const fatal = daemon.lines().filter((l) => l.level >= 60);
    assert.deepEqual(fatal, [], 'no fatal log line');
  } finally {
    exitCode = await daemon.stop();
  }
  // After the checks, so a daemon that died during the fuzz fails them with its output first.
  assert.equal(exitCode, 0, `the daemon did not stop cleanly:\n${daemon.proc.output()}`);
});
