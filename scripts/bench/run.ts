/**
 * socksgate benchmark: the same figures through socksgate (its default relay, and `--relay copy`
 * when the build has that option), the C peers — redsocks (Debian, its default which splices, and
 * with `splice = off`), ipt2socks and hev-socks5-tproxy (built from source snapshots, peers.ts) —
 * and direct (no proxy), side by side in one run, Dante as the upstream, in network namespaces
 * built with test/e2e/lab.ts. Prints markdown tables, one per group of figures, with a
 * "socksgate ÷ best peer" column, on stdout and writes them to bench-out/latest.md (+ latest.json,
 * raw; socksifier logs in bench-out/logs/). socksgate runs from a snapshot of dist/ and the addon
 * taken after the build (bench-out/socksgate-under-test/), so a rebuild by someone else mid-run
 * changes nothing.
 *
 *   sudo node --import tsx scripts/bench/run.ts [--quick] [--only bulk,ttfb,cps,mem,dns,udp,inbound] [--runs N]
 *                                               [--profile] [--no-build] [--upstream dante|microsocks]
 *                                               [--ipt2socks PATH] [--hev PATH]
 *
 *   --quick     1 s per iperf3 run, 2 s per wrk or SOCKS5 connections/s run, 2,000 idle
 *               connections, 1 GiB per SOCKS5 bulk download; ~10 min with --runs 1, most of it
 *               the memory figure's 15 s waits (full: 5 s, 5 s, 5,000, 2 GiB; ~45 min)
 *   --only      a subset of the figures
 *   --runs N    runs per figure (default 3; the table shows medians)
 *   --waves N   idle-connection waves on one process for the memory-growth row (default 5;
 *               2 with --quick)
 *   --profile   one extra (uncounted) socksgate bulk, connections/s, UDP and SOCKS5-server
 *               connections/s run under `node --cpu-prof`; prints the top functions (profiles
 *               + summary in bench-out/prof/)
 *   --no-build  use dist/ as it is (default: `npm run build` first)
 *   --ipt2socks, --hev  the peers' binaries (default: $SG_BENCH_IPT2SOCKS, $SG_BENCH_HEV, else
 *               what ../shared/peers/build.sh builds outside the repository, or $SG_BENCH_PEERS_BUILD)
 *
 * Figures (see each measure-*.ts; figure-*.ts run the ones with a lab of their own):
 *   1. bulk TCP (measure-bulk.ts): iperf3, 1 and 8 streams, upload and download: Gbit/s and the
 *      socksifier's CPU s/GiB
 *   2. time to first byte (delay-line.ts, measure-ttfb.ts): curl of a small file over a client ⇄
 *      proxy link with a 20 ms round trip (a userspace TUN delay line: there is no netem here), in
 *      round trips, without and with username/password (a second Dante with the username method)
 *   3. new connections/s (measure-cps.ts): wrk -c 50 with `Connection: close`, and CPU s/1,000;
 *      then socksgate alone and with --workers 2, each process capped at CAP_CPUS (cpu-cap.ts)
 *   4. memory (measure-memory.ts): RSS per idle proxied connection (all of it, and its anonymous
 *      memory alone), fds per connection, RSS of the whole daemon at start and idle, growth across
 *      waves and RSS after the last wave vs before the first
 *   start-up to listening of every socksifier (from the bulk and connections/s runs), and a bare
 *      `node -e 0` (bare-node.ts) in the same namespace
 *   5a. UDP (measure-udp.ts, udp-echo-load.mjs): a UDP echo through Dante's UDP ASSOCIATE,
 *      socksgate (--tproxy), redsocks' redudp, ipt2socks and hev-socks5-tproxy, all by TPROXY:
 *      datagrams/s with 64 in flight, round trip median and p99, CPU s/100,000
 *   5b. DNS (measure-dns.ts, dns-load.mjs): queries/s through socksgate's resolver, cached and
 *      uncached, CPU s/10,000, and an uncached query's latency in round trips of the 20 ms link
 *      (the peers have no resolver: measure-dns.ts DNS_ABSENT)
 *   6. socksgate as a SOCKS5 server (measure-inbound.ts, socks-cps.mjs): its proxy inbound with
 *      `route: { final: direct }`, microsocks and Dante side by side in the proxy namespace, the
 *      client connecting to each directly: SOCKS5 connections/s (CONNECT + GET + close, 50 at
 *      once) and CPU s/1,000, bulk download by curl --socks5 (1 and 8 streams) in Gbit/s and CPU
 *      s/GiB, with "socksgate ÷ microsocks" and "socksgate ÷ Dante" columns
 * Diversion: TCP by REDIRECT, except hev-socks5-tproxy (TPROXY only); UDP by TPROXY. Each
 * socksifier's own upstream traffic is skipped by its mark (socksgate, hev) or uid (redsocks,
 * ipt2socks: no SO_MARK option; peers.ts PEER_USER).
 * Direct: the client reaches the internet namespace through the proxy namespace's IP forwarding
 * (enabled there only while direct is measured) instead of through a SOCKS server.
 *
 * Needs root and Debian: it installs what is missing (scripts/test-deps, redsocks, wrk, gcc) with
 * service starts blocked by policy-rc.d, and checks that no redsocks / iperf3 runs in the root
 * namespace. Everything runs inside namespaces it creates; labs and processes are torn down at the
 * end, on failure and on Ctrl-C (test/e2e/lab.ts's exit and signal hooks).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../../test/e2e/lab.js';
import { ECHO_PORT, startServers, type Servers, type Started } from './bench-lab.js';
import { bareListeningNodeMs, bareNodeMs } from './bare-node.js';
import { ensureDeps } from './deps.js';
import { BULK_CASES, bulkCaseName, runBulk } from './measure-bulk.js';
import { CPS_WARM_UP_S, runCps } from './measure-cps.js';
import { capCpu } from './cpu-cap.js';
import { IDLE_BEFORE_WAVES_MS, runMemory, STEADY_MS } from './measure-memory.js';
import { peerBinaries, peerVersions, type PeerBinaries } from './peers.js';
import { summarizeProfile } from './prof-summary.js';
import { ALL_VARIANTS, LABELS, setPeerBinaries, setSocksgateMain, socksgateRelayOption, CPS_ONLY_VARIANTS, TTFB_ONLY_VARIANTS, withVariant, type Running, type VariantId } from './socksifiers.js';
import { emptyResults, type Results } from './results.js';
import { OUT, REPO, live, machineActivity, retryOnce, saveLogs } from './run-support.js';
import { figureDns } from './figure-dns.js';
import { figureInbound } from './figure-inbound.js';
import { figureTtfb } from './figure-ttfb.js';
import { figureUdp } from './figure-udp.js';
import { renderMarkdown } from './table.js';
import { median, processTree, say } from './util.js';

const FIGURES = ['bulk', 'ttfb', 'cps', 'mem', 'dns', 'udp', 'inbound'] as const;
type Figure = (typeof FIGURES)[number];

interface Options {
  quick: boolean;
  build: boolean;
  profile: boolean;
  runs: number;
  waves: number;
  only: Set<Figure>;
  /** The SOCKS server for the bulk, connections/s and memory figures (ttfb always uses Dante). */
  upstream: 'dante' | 'microsocks';
  /** Peer binaries given on the command line (peers.ts fills in the rest). */
  peers: Partial<PeerBinaries>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, build: true, profile: false, runs: 3, waves: 0, only: new Set(FIGURES), upstream: 'dante', peers: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--profile') o.profile = true;
    else if (a.startsWith('--runs')) o.runs = Number(value());
    else if (a.startsWith('--waves')) o.waves = Number(value());
    else if (a.startsWith('--ipt2socks')) o.peers.ipt2socks = value();
    else if (a.startsWith('--hev')) o.peers.hev = value();
    else if (a.startsWith('--upstream')) {
      const v = value();
      if (v !== 'dante' && v !== 'microsocks') throw new Error('--upstream: dante or microsocks');
      o.upstream = v;
    }
    else if (a.startsWith('--only')) {
      const list = value().split(',').map((s) => s.trim()) as Figure[];
      for (const f of list) if (!FIGURES.includes(f)) throw new Error(`--only: unknown figure ${f} (${FIGURES.join(', ')})`);
      o.only = new Set(list);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]! + '*/\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 9) throw new Error('--runs: 1..9');
  if (o.waves === 0) o.waves = o.quick ? 2 : 5;
  if (!Number.isInteger(o.waves) || o.waves < 1 || o.waves > 9) throw new Error('--waves: 1..9');
  return o;
}

function cmdOut(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

/** Short sha256 over the files of a directory tree (names and contents). */
function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile() && !e.name.endsWith('.map')) h.update(path.relative(dir, f)).update(fs.readFileSync(f));
    }
  };
  walk(dir);
  return h.digest('hex').slice(0, 10);
}

function versions(peers: PeerBinaries, o: Options): Record<string, string> {
  const pkg = (p: string) => cmdOut('dpkg-query', ['-W', '-f=${Version}', p]);
  const rev = cmdOut('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = cmdOut('git', ['-C', REPO, 'status', '--porcelain', '--', 'src']) ? '+dirty src' : '';
  return {
    socksgate: `${rev}${dirty} (measured dist/ sha256 ${treeHash(path.join(OUT, 'socksgate-under-test/dist'))})`,
    node: process.version,
    redsocks: pkg('redsocks'),
    ...peerVersions(peers),
    dante: pkg('dante-server'),
    ...(o.only.has('inbound') ? { microsocks: pkg('microsocks'), curl: pkg('curl') } : {}),
    iperf3: pkg('iperf3'),
    wrk: pkg('wrk'),
    kernel: os.release(),
  };
}

/** npm run build; returns a note when it failed but an older dist/ can still be measured. */
function build(): string | undefined {
  say('npm run build');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
  let note: string | undefined;
  if (r.status !== 0) {
    if (!fs.existsSync(path.join(REPO, 'dist/main.js'))) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
    note = `npm run build failed (${(r.stdout + r.stderr).trim().split('\n')[0]}); measured dist/ as tsc left it`;
    say(`WARNING: ${note}`);
  }
  if (!fs.existsSync(path.join(REPO, 'build/Release/socksgate_native.node'))) {
    say('building the native addon (node-gyp)');
    const g = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '--nodedir=/usr'], { cwd: REPO, encoding: 'utf8' });
    if (g.status !== 0) throw new Error(`node-gyp rebuild failed:\n${g.stdout}${g.stderr}`);
  }
  return note;
}

/**
 * A private copy of what is measured (dist/, the addon, package.json; node_modules linked), so
 * that a rebuild by someone else during the run cannot change socksgate between figures.
 */
function snapshotSocksgate(): string {
  const dir = path.join(OUT, 'socksgate-under-test');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'build/Release'), { recursive: true });
  fs.cpSync(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'build/Release/socksgate_native.node'), path.join(dir, 'build/Release/socksgate_native.node'));
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  return path.join(dir, 'dist/main.js');
}

function recordBareListening(r: Results, started: Started): void {
  (r.bareListenMs ??= []).push(started.startupMs);
  if (started.startupCpuMs !== undefined) (r.bareListenCpuMs ??= []).push(started.startupCpuMs);
}

function recordStartup(r: Results, running: Running): void {
  if (running.startupMs === undefined) return;
  (r.startupMs[running.id] ??= []).push(running.startupMs);
  if (running.startupCpuMs !== undefined) ((r.startupCpuMs ??= {})[running.id] ??= []).push(running.startupCpuMs);
}

/** A smoke check before measuring: the small page through this variant, or a clear error. */
async function smoke(lab: Lab, running: Running, url: string): Promise<void> {
  const c = await lab.exec('client', 'curl', ['-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url], { allowFail: true });
  if (c.code !== 0 || c.stdout.trim() !== '200') {
    throw new Error(`${running.id}: curl ${url} failed (exit ${c.code}, ${c.stdout} ${c.stderr.trim()})\n${running.proc?.output() ?? ''}`);
  }
}

/** Socksifiers that hold 6 fds per relayed connection (two sockets and two splice pipes). */
const SIX_FDS: readonly VariantId[] = ['redsocks', 'ipt2socks', 'hev'];

/** Share of a CPU each socksgate process may use in the capped connections/s runs. */
const CAP_CPUS = 0.2;

/**
 * Connections/s of one socksgate process and of --workers 2 with every process capped at CAP_CPUS:
 * here wrk, nginx and Dante fill the two cores, so a second worker has no core to run on; capped,
 * socksgate is the bottleneck, as it would be on a machine with cores to spare.
 */
async function cappedCps(o: Options, r: Results, lab: Lab, servers: Servers, url: string, seconds: number): Promise<void> {
  r.capCpus = CAP_CPUS;
  for (let run = 1; run <= o.runs; run++) {
    for (const id of ['socksgate', 'socksgate-workers2'] as const) {
      say(`connections/s capped at ${CAP_CPUS} CPU per process: run ${run}/${o.runs}, ${LABELS[id]}`);
      await withVariant(lab, id, servers.dante, { tag: `cps-cap${run}` }, async (running) => {
        await smoke(lab, running, url);
        const uncap = capCpu(processTree(running.pid!), CAP_CPUS);
        try {
          const s = await retryOnce(r, `connections/s capped, ${LABELS[id]}, run ${run}`, () => runCps(lab, running, url, seconds));
          if (s) (r.cpsCapped[id] ??= []).push(s);
        } finally {
          uncap();
        }
      });
    }
  }
  r.notes.push(
    `Capped connections/s: each socksgate process (the primary and each worker) in a cgroup of its own limited to ${CAP_CPUS} CPU, so socksgate and not the lab is the limit; the ratio column "2 workers / socksgate" is the scaling.`,
  );
}

async function figureBulkCpsMem(o: Options, r: Results, profileDir: string | undefined): Promise<void> {
  const lab = await createLab();
  live.add(`sg-${lab.id}`);
  try {
    say(`lab ${lab.id}: starting nginx, iperf3, echo, ${o.upstream}`);
    const servers: Servers = await startServers(lab, { iperf: o.only.has('bulk'), echo: o.only.has('mem'), upstream: o.upstream });
    if (o.upstream === 'microsocks') r.notes.push('Upstream for bulk, connections/s and memory: microsocks (one process, a thread per connection) instead of Dante.');
    const url = servers.nginx.url('/small.txt');
    const seconds = o.quick ? 2 : 5;
    const bulkSeconds = o.quick ? 1 : 5;
    const cpsVariants = r.meta.variants.filter((v) => !TTFB_ONLY_VARIANTS.includes(v));
    const variants = cpsVariants.filter((v) => !CPS_ONLY_VARIANTS.includes(v));
    const proxied = variants.filter((v) => v !== 'direct');

    if (o.only.has('bulk')) {
      for (const c of BULK_CASES) r.bulk[bulkCaseName(c)] = {};
      for (let run = 1; run <= o.runs; run++) {
        r.bareNodeMs.push(await bareNodeMs(lab));
        recordBareListening(r, await bareListeningNodeMs(lab));
        for (const id of variants) {
          say(`bulk: run ${run}/${o.runs}, ${LABELS[id]}`);
          await withVariant(lab, id, servers.dante, { tag: `bulk${run}` }, async (running) => {
            recordStartup(r, running);
            await smoke(lab, running, url);
            for (const c of BULK_CASES) {
              const s = await retryOnce(r, `bulk ${bulkCaseName(c)}, ${LABELS[id]}, run ${run}`, () => runBulk(lab, running, c, bulkSeconds));
              if (s) (r.bulk[bulkCaseName(c)]![id] ??= []).push(s);
            }
          });
        }
      }
      if (profileDir) {
        say('bulk: one more socksgate run under node --cpu-prof (not counted)');
        await withVariant(lab, 'socksgate', servers.dante, { tag: 'bulk-prof', profileDir: path.join(profileDir, 'bulk') }, async (running) => {
          for (const c of BULK_CASES) await runBulk(lab, running, c, bulkSeconds);
        });
      }
    }

    if (o.only.has('cps')) {
      for (let run = 1; run <= o.runs; run++) {
        r.bareNodeMs.push(await bareNodeMs(lab));
        recordBareListening(r, await bareListeningNodeMs(lab));
        for (const id of cpsVariants) {
          say(`connections/s: run ${run}/${o.runs}, ${LABELS[id]}`);
          await withVariant(lab, id, servers.dante, { tag: `cps${run}` }, async (running) => {
            recordStartup(r, running);
            await smoke(lab, running, url);
            const s = await retryOnce(r, `connections/s, ${LABELS[id]}, run ${run}`, () => runCps(lab, running, url, seconds));
            if (s) (r.cps[id] ??= []).push(s);
          });
        }
      }
      if (profileDir) {
        say('connections/s: one more socksgate run under node --cpu-prof (not counted)');
        await withVariant(lab, 'socksgate', servers.dante, { tag: 'cps-prof', profileDir: path.join(profileDir, 'cps') }, (running) => runCps(lab, running, url, seconds));
      }
      if (cpsVariants.includes('socksgate-workers2')) await cappedCps(o, r, lab, servers, url, seconds);
      const busy = median(Object.values(r.cps).flatMap((s) => s!.map((x) => x.machineBusy)));
      r.notes.push(
        `Connections/s: every connection is also a new SOCKS session at Dante (a forking server) and an nginx request, all on the same ${os.cpus().length} cores; ` +
          `the machine was ${(busy * 100).toFixed(0)} % busy (median) during these runs, so the figure is bounded by the whole chain, not the socksifier alone: compare CPU s per 1,000 connections. ` +
          `Each run measures after ${CPS_WARM_UP_S} s of the same load, unmeasured, for every socksifier (the steady state: socksgate's JIT compiles its hot paths in the first seconds).`,
      );
    }

    if (o.only.has('mem')) {
      const count = o.quick ? 2000 : 5000;
      const growthWaves = o.waves;
      r.meta.memoryWaves = growthWaves;
      for (let run = 1; run <= o.runs; run++) {
        for (const id of proxied) {
          // the peers that splice hold 6 fds per connection (2 sockets + 2 pipes): 5,000 would
          // need 30,000 fds and the hard RLIMIT_NOFILE here is 20,000, so they get at most 2,500
          const n = SIX_FDS.includes(id) ? Math.min(count, 2500) : count;
          r.meta.memoryCount[id] = n;
          const waves = run === 1 ? growthWaves : 1;
          say(`memory: run ${run}/${o.runs}, ${n} idle connections x ${waves} wave${waves > 1 ? 's' : ''}, ${LABELS[id]}`);
          await withVariant(lab, id, servers.dante, { tag: `mem${run}`, ...(id === 'redsocks' ? { connMax: n + 100 } : {}) }, async (running) => {
            await smoke(lab, running, url);
            (r.memory[id] ??= []).push(await runMemory(lab, running, n, waves));
          });
        }
      }
      r.notes.push(
        `Memory: idle connections from a Node client in the client namespace to a Node echo server (port ${ECHO_PORT}) in the internet namespace through Dante (it forks; it held them all). ` +
          `Per connection = (RSS with the connections open and idle for ${STEADY_MS / 1000} s − RSS just before) / count, on a fresh socksifier process after a 20-connection warm-up and ${IDLE_BEFORE_WAVES_MS / 1000} s idle, median of ${o.runs} processes; the second row takes the same from RssAnon (/proc/PID/status), the process's anonymous memory, leaving out file-backed pages: node maps ~3.75 MiB of its optimizing compiler's code the first time load makes it optimize, once whatever the count, which the first row spreads over the connections (0.77 KiB each at 5,000); the third row takes RSS 1 s after the last one opened, before V8 has collected what setting them up left behind. ` +
          `Growth: on the first process, ${growthWaves} waves; RSS ${STEADY_MS / 1000} s after the last closed − RSS ${STEADY_MS / 1000} s after the first closed.` +
          (SIX_FDS.some((id) => r.meta.memoryCount[id] !== undefined && r.meta.memoryCount[id] !== r.meta.memoryCount.socksgate)
            ? ` ${SIX_FDS.filter((id) => r.meta.memoryCount[id] !== undefined).map((id) => LABELS[id]).join(', ')} were measured with at most 2,500 connections: they need 6 fds each (splice pipes) and RLIMIT_NOFILE is capped at 20,000 here.`
            : '') +
          ` A socksifier's pipes (the splicing peers hold two per connection; socksgate's splice relay takes them from a small pool) cost kernel memory that RSS does not show: compare fds per connection too.`,
      );
    }
  } finally {
    saveLogs(lab);
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  ensureDeps();
  const peers = peerBinaries(o.peers);
  setPeerBinaries(peers);
  const buildNote = o.build ? build() : 'measured dist/ as it was (--no-build)';
  fs.mkdirSync(OUT, { recursive: true });
  setSocksgateMain(snapshotSocksgate());
  const relay = socksgateRelayOption();
  const variants = ALL_VARIANTS.filter((v) => v !== 'socksgate-copy' || relay.hasRelay);
  const profileDir = o.profile ? path.join(OUT, 'prof', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  const r = emptyResults({
    variants,
    socksgateRelay: relay.hasRelay ? relay.defaultRelay : 'unknown',
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    quick: o.quick,
    runs: o.runs,
    bulkSeconds: o.quick ? 1 : 5,
    cpsSeconds: o.quick ? 2 : 5,
    memoryCount: {},
    memoryWaves: o.waves,
    ttfbCount: 20,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    versions: versions(peers, o),
  });
  if (buildNote) r.notes.push(buildNote);
  r.notes.push(
    'Diversion: TCP by the KERNEL.md REDIRECT recipe, except hev-socks5-tproxy, which takes TCP only by TPROXY (its TCP figures run behind the TPROXY recipe for TCP; redsocks has no TPROXY for TCP); UDP by TPROXY for all. ' +
      "Each socksifier's own upstream traffic is skipped by SO_MARK (socksgate --mark, hev's socks5.mark) or by uid (redsocks, ipt2socks: neither can mark; both run as user redsocks). " +
      'ipt2socks runs with -R -T (REDIRECT, TCP only) or -U (UDP only); every socksifier with one thread or process (ipt2socks -j 1, hev workers: 1).',
  );
  const activityBefore = machineActivity();
  const failures: string[] = [];
  const figures: [keys: Figure[], label: string, run: () => Promise<void>][] = [
    [['bulk', 'cps', 'mem'], 'bulk/cps/memory', () => figureBulkCpsMem(o, r, profileDir)],
    [['ttfb'], 'time to first byte', () => figureTtfb(o, r)],
    [['dns'], 'DNS', () => figureDns(o, r)],
    [['udp'], 'UDP', () => figureUdp(o, r, profileDir)],
    [['inbound'], 'SOCKS5 servers', () => figureInbound(o, r, profileDir)],
  ];
  // One figure failing (a server that did not start, …) still leaves the others measured.
  for (const [keys, label, run] of figures) {
    if (!keys.some((k) => o.only.has(k))) continue;
    try {
      await run();
    } catch (e) {
      failures.push(`${label}: ${(e as Error).message}`);
      say(`FAILED ${label}: ${(e as Error).stack}`);
    }
  }
  for (const f of failures) r.notes.push(`FAILED ${f.split('\n')[0]}`);
  r.notes.push(`Logs of the socksifiers, the delay line and Dante (warnings and errors only): bench-out/logs/<lab id>/.`);
  r.notes.push(
    `Machine activity: at the start ${activityBefore}; at the end ${machineActivity()}. With 2 cores, anything else running (e.g. an e2e test run) lowers every figure and widens the [min–max] spreads.`,
  );
  r.meta.elapsedS = (performance.now() - t0) / 1000;
  const md = renderMarkdown(r);
  fs.writeFileSync(path.join(OUT, 'latest.md'), md);
  fs.writeFileSync(path.join(OUT, 'latest.json'), JSON.stringify(r, null, 2));
  process.stdout.write(md);
  if (profileDir && fs.existsSync(profileDir)) {
    const summaries: string[] = [];
    for (const sub of fs.readdirSync(profileDir)) {
      const dir = path.join(profileDir, sub);
      for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) summaries.push(`[${sub}] ${summarizeProfile(path.join(dir, f))}`);
    }
    const text = summaries.join('\n\n') + '\n';
    fs.writeFileSync(path.join(profileDir, 'summary.txt'), text);
    process.stdout.write(`\n## socksgate CPU profile (node --cpu-prof, self time)\n\n\`\`\`\n${text}\`\`\`\n`);
  }
  say(`wrote ${path.relative(REPO, path.join(OUT, 'latest.md'))} in ${Math.round(r.meta.elapsedS)} s`);
  if (failures.length) process.exitCode = 1;
}

main().catch((e: unknown) => {
  say(`error: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
