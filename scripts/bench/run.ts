/**
 * socksgate benchmark: the same figures through socksgate, redsocks (Debian, its default which
 * splices, and with `splice = off`) and direct (no proxy), side by side in one run, Dante as the
 * upstream, in network namespaces built with test/e2e/lab.ts. Prints a markdown table (ratios
 * socksgate / redsocks) on stdout and writes it to bench-out/latest.md (+ latest.json, raw).
 *
 *   sudo node --import tsx scripts/bench/run.ts [--quick] [--only bulk,ttfb,cps,mem] [--runs N]
 *                                               [--profile] [--no-build]
 *
 *   --quick     ~3 min: 2 s per iperf3 / wrk run, 2,000 idle connections (full: 5 s, 5,000; ~10 min)
 *   --only      a subset of the figures
 *   --runs N    runs per figure (default 3; the table shows medians)
 *   --profile   also run socksgate under `node --cpu-prof` and print the top functions
 *               (profiles and summaries in bench-out/prof/)
 *   --no-build  use dist/ as it is (default: `npm run build` first)
 *
 * Figures (see each measure-*.ts):
 *   1. bulk TCP (measure-bulk.ts): iperf3, 1 and 8 streams, upload and download: Gbit/s and the
 *      socksifier's CPU s/GiB
 *   2. time to first byte (delay-line.ts, measure-ttfb.ts): curl of a small file over a client ⇄
 *      proxy link with a 20 ms round trip (a userspace TUN delay line: there is no netem here), in
 *      round trips, without and with username/password (a second Dante with the username method)
 *   3. new connections/s (measure-cps.ts): wrk -c 50 with `Connection: close`, and CPU s/1,000
 *   4. memory (measure-memory.ts): RSS per idle proxied connection, fds per connection, growth
 *      across waves
 * Direct: the client reaches the internet namespace through the proxy namespace's IP forwarding
 * (enabled there only while direct is measured) instead of through a SOCKS server.
 *
 * Needs root and Debian: it installs what is missing (scripts/test-deps, redsocks, wrk, gcc) with
 * service starts blocked by policy-rc.d, and checks that no redsocks / iperf3 runs in the root
 * namespace. Everything runs inside namespaces it creates; labs and processes are torn down at the
 * end, on failure and on Ctrl-C (test/e2e/lab.ts's exit and signal hooks).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../../test/e2e/lab.js';
import { ECHO_PORT, startServers, type Servers } from './bench-lab.js';
import { compileDelayLine, createDelayLab } from './delay-line.js';
import { ensureDeps } from './deps.js';
import { BULK_CASES, bulkCaseName, runBulk } from './measure-bulk.js';
import { runCps } from './measure-cps.js';
import { runMemory } from './measure-memory.js';
import { danteLoginMs, runTtfb } from './measure-ttfb.js';
import { summarizeProfile } from './prof-summary.js';
import { PROXIED, VARIANTS, withVariant, type Running, type VariantId } from './socksifiers.js';
import { emptyResults, renderMarkdown, type Results } from './table.js';
import { median, say } from './util.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(REPO, 'bench-out');
const FIGURES = ['bulk', 'ttfb', 'cps', 'mem'] as const;
type Figure = (typeof FIGURES)[number];

interface Options {
  quick: boolean;
  build: boolean;
  profile: boolean;
  runs: number;
  only: Set<Figure>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, build: true, profile: false, runs: 3, only: new Set(FIGURES) };
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
  return o;
}

function cmdOut(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function versions(): Record<string, string> {
  const pkg = (p: string) => cmdOut('dpkg-query', ['-W', '-f=${Version}', p]);
  const rev = cmdOut('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = cmdOut('git', ['-C', REPO, 'status', '--porcelain', '--', 'src']) ? '+dirty src' : '';
  return {
    socksgate: `${rev}${dirty}`,
    node: process.version,
    redsocks: pkg('redsocks'),
    dante: pkg('dante-server'),
    iperf3: pkg('iperf3'),
    wrk: pkg('wrk'),
    kernel: os.release(),
  };
}

function build(): void {
  say('npm run build');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
  if (!fs.existsSync(path.join(REPO, 'build/Release/socksgate_native.node'))) {
    say('building the native addon (node-gyp)');
    const g = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '--nodedir=/usr'], { cwd: REPO, encoding: 'utf8' });
    if (g.status !== 0) throw new Error(`node-gyp rebuild failed:\n${g.stdout}${g.stderr}`);
  }
}

function recordStartup(r: Results, running: Running): void {
  if (running.startupMs === undefined) return;
  (r.startupMs[running.id] ??= []).push(running.startupMs);
}

/** A smoke check before measuring: the small page through this variant, or a clear error. */
async function smoke(lab: Lab, running: Running, url: string): Promise<void> {
  const c = await lab.exec('client', 'curl', ['-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url], { allowFail: true });
  if (c.code !== 0 || c.stdout.trim() !== '200') {
    throw new Error(`${running.id}: curl ${url} failed (exit ${c.code}, ${c.stdout} ${c.stderr.trim()})\n${running.proc?.output() ?? ''}`);
  }
}

async function figureBulkCpsMem(o: Options, r: Results, profileDir: string | undefined): Promise<void> {
  const lab = await createLab();
  try {
    say(`lab ${lab.id}: starting nginx, iperf3, echo, Dante`);
    const servers: Servers = await startServers(lab, { iperf: o.only.has('bulk'), echo: o.only.has('mem') });
    const url = servers.nginx.url('/small.txt');
    const seconds = o.quick ? 2 : 5;

    if (o.only.has('bulk')) {
      for (const c of BULK_CASES) r.bulk[bulkCaseName(c)] = {};
      for (let run = 1; run <= o.runs; run++) {
        for (const v of VARIANTS) {
          say(`bulk: run ${run}/${o.runs}, ${v.label}`);
          await withVariant(lab, v.id, servers.dante, { tag: `bulk${run}`, ...(run === 1 && profileDir && v.id === 'socksgate' ? { profileDir: path.join(profileDir, 'bulk') } : {}) }, async (running) => {
            recordStartup(r, running);
            await smoke(lab, running, url);
            for (const c of BULK_CASES) {
              const s = await runBulk(lab, running, c, seconds);
              (r.bulk[bulkCaseName(c)]![v.id] ??= []).push(s);
            }
          });
        }
      }
    }

    if (o.only.has('cps')) {
      for (let run = 1; run <= o.runs; run++) {
        for (const v of VARIANTS) {
          say(`connections/s: run ${run}/${o.runs}, ${v.label}`);
          await withVariant(lab, v.id, servers.dante, { tag: `cps${run}`, ...(run === 1 && profileDir && v.id === 'socksgate' ? { profileDir: path.join(profileDir, 'cps') } : {}) }, async (running) => {
            recordStartup(r, running);
            await smoke(lab, running, url);
            (r.cps[v.id] ??= []).push(await runCps(lab, running, url, seconds));
          });
        }
      }
      const busy = median(Object.values(r.cps).flatMap((s) => s!.map((x) => x.machineBusy)));
      r.notes.push(
        `Connections/s: every connection is also a new SOCKS session at Dante (a forking server) and an nginx request, all on the same ${os.cpus().length} cores; ` +
          `the machine was ${(busy * 100).toFixed(0)} % busy (median) during these runs, so the figure is bounded by the whole chain, not the socksifier alone: compare CPU s per 1,000 connections.`,
      );
    }

    if (o.only.has('mem')) {
      const count = o.quick ? 2000 : 5000;
      const waves = o.runs;
      r.meta.memoryWaves = waves;
      for (const id of PROXIED) {
        // redsocks with splice holds 6 fds per connection (2 sockets + 2 pipes): 5,000 would need
        // 30,000 fds and the hard RLIMIT_NOFILE here is 20,000, so it gets at most 2,500
        const n = id === 'redsocks' ? Math.min(count, 2500) : count;
        r.meta.memoryCount[id] = n;
        say(`memory: ${n} idle connections x ${waves} waves, ${VARIANTS.find((v) => v.id === id)!.label}`);
        await withVariant(lab, id, servers.dante, { tag: 'mem', ...(id === 'redsocks' ? { connMax: n + 100 } : {}) }, async (running) => {
          await smoke(lab, running, url);
          r.memory[id] = await runMemory(lab, running, n, waves);
        });
      }
      r.notes.push(
        `Memory: idle connections from a Node client in the client namespace to a Node echo server (port ${ECHO_PORT}) in the internet namespace through Dante (it forks; it held them all). ` +
          `Per connection = (RSS with the connections open, 1 s after the last one opened − RSS just before) / count, median over ${waves} waves on one socksifier process, after a 20-connection warm-up.` +
          (r.meta.memoryCount.redsocks !== r.meta.memoryCount.socksgate
            ? ` redsocks with splice was measured with ${r.meta.memoryCount.redsocks} connections: it needs 6 fds each and RLIMIT_NOFILE is capped at 20,000 here.`
            : ''),
      );
    }
  } finally {
    await lab.destroy();
  }
}

async function figureTtfb(o: Options, r: Results): Promise<void> {
  const rttMs = 20;
  const bin = compileDelayLine(path.join(OUT, 'bin'));
  const { lab } = await createDelayLab(bin, rttMs);
  try {
    say(`ttfb lab ${lab.id}: delay line with a ${rttMs} ms round trip between client and proxy`);
    const servers = await startServers(lab, { auth: true });
    const url = servers.nginx.url('/small.txt');
    const count = r.meta.ttfbCount;
    const noAuth: Partial<Record<VariantId, Awaited<ReturnType<typeof runTtfb>>>> = {};
    const auth: typeof noAuth = {};
    for (const v of VARIANTS) {
      for (const withAuth of v.id === 'direct' ? [false] : [false, true]) {
        say(`ttfb: ${v.label}${withAuth ? ', username/password' : ''}`);
        await withVariant(lab, v.id, withAuth ? servers.danteAuth! : servers.dante, { tag: withAuth ? 'ttfb-auth' : 'ttfb' }, async (running) => {
          (withAuth ? auth : noAuth)[v.id] = await runTtfb(lab, url, count);
        });
      }
    }
    const direct = noAuth.direct;
    if (!direct) throw new Error('ttfb: no direct figure');
    const loginMs = await danteLoginMs(lab, servers.danteAuth!);
    r.ttfb = { nominalRttMs: rttMs, measuredRttMs: median(direct.connectMs), danteLoginMs: loginMs, noAuth, auth };
    r.notes.push(
      `Time to first byte: the client ⇄ proxy link is a userspace delay line (scripts/bench/delay-line.c: two TUN interfaces, every packet held ${rttMs / 2} ms each way); ` +
        `round trips = (median TTFB − median direct TTFB) / measured RTT + 2. The socksifier runs in the client namespace, so its own accept is free and only its upstream handshake crosses the delay. ` +
        `socksgate uses ?pipelining=on (greeting, login and CONNECT in one write). Dante's username method checks the system password with crypt(3): it took ${loginMs.toFixed(1)} ms per login here (measured inside the proxy namespace, no delay), ` +
        `which every socksifier pays alike; the "excl. Dante's login time" row subtracts it before counting round trips.`,
    );
  } finally {
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  ensureDeps();
  if (o.build) build();
  fs.mkdirSync(OUT, { recursive: true });
  const profileDir = o.profile ? path.join(OUT, 'prof', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  const r = emptyResults({
    date: new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
    quick: o.quick,
    runs: o.runs,
    bulkSeconds: o.quick ? 2 : 5,
    cpsSeconds: o.quick ? 2 : 5,
    memoryCount: {},
    memoryWaves: o.runs,
    ttfbCount: 20,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    versions: versions(),
  });
  const failures: string[] = [];
  if (o.only.has('bulk') || o.only.has('cps') || o.only.has('mem')) {
    try {
      await figureBulkCpsMem(o, r, profileDir);
    } catch (e) {
      failures.push(`bulk/cps/memory: ${(e as Error).message}`);
      say(`FAILED bulk/cps/memory: ${(e as Error).stack}`);
    }
  }
  if (o.only.has('ttfb')) {
    try {
      await figureTtfb(o, r);
    } catch (e) {
      failures.push(`time to first byte: ${(e as Error).message}`);
      say(`FAILED ttfb: ${(e as Error).stack}`);
    }
  }
  for (const f of failures) r.notes.push(`FAILED ${f.split('\n')[0]}`);
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
