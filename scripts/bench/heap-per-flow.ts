/**
 * What socksgate's JS heap holds per live proxied connection: one lab (Dante upstream, REDIRECT, the
 * echo server), socksgate from dist/ with `--heapsnapshot-signal`, a heap snapshot with nothing
 * proxied and one with N idle connections open, then the difference by constructor (objects and
 * self bytes per connection), largest first, and the RSS per connection beside it.
 *
 *   sudo node --import tsx scripts/bench/heap-per-flow.ts [--count 2000] [--top 30] [--no-build] [--rss-only [--waves N] [--timeline] [--text-pages] [--node-flags '…']] [--main dist/main.js] [-- extra run flags]
 *
 * --rss-only: no snapshots; RSS per connection 1 s and 15 s after the last one opened, as the bench's memory figure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, LAB_ADDR, type Lab } from '../../test/e2e/lab.js';
import { ECHO_PORT, startServers } from './bench-lab.js';
import { setSocksgateMain, startVariant } from './socksifiers.js';
import { rssKiB, sleep } from './util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IDLE_CLIENT = path.join(ROOT, 'scripts/bench/idle-conns.mjs');

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Objects and self bytes by "type:name" (closures by their function's name, arrays, strings…). */
function census(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const out = new Map<string, { count: number; bytes: number }>();
  const edgeCountAt = fields.indexOf('edge_count');
  const ef = snap.snapshot.meta.edge_fields;
  const etypes = snap.snapshot.meta.edge_types[0];
  const [eTypeAt, eNameAt] = [ef.indexOf('type'), ef.indexOf('name_or_index')];
  // Heap numbers by what holds them (constructor.property): a double field boxes its value per object.
  const holderOf = new Map<number, string>();
  const toAt = ef.indexOf('to_node');
  for (let i = 0, e = 0; i < snap.nodes.length; i += width) {
    const edges = snap.nodes[i + edgeCountAt]!;
    for (let k = 0; k < edges; k++, e += ef.length) {
      const to = snap.edges[e + toAt]!;
      if (types[snap.nodes[to + typeAt]!] !== 'number') continue;
      const et = etypes[snap.edges[e + eTypeAt]!];
      const name = et === 'element' || et === 'hidden' ? String(snap.edges[e + eNameAt]) : snap.strings[snap.edges[e + eNameAt]!]!;
      holderOf.set(to, `${snap.strings[snap.nodes[i + nameAt]!]}.${name}`);
    }
  }
  let edge = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const raw = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : snap.strings[snap.nodes[i + nameAt]!]!;
    // Plain objects and contexts by what they hold: their property and variable names.
    const names: string[] = [];
    const edges = snap.nodes[i + edgeCountAt]!;
    for (let e = 0; e < edges; e++, edge += ef.length) {
      const et = etypes[snap.edges[edge + eTypeAt]!];
      if (et === 'property' || et === 'context') names.push(snap.strings[snap.edges[edge + eNameAt]!]!);
    }
    const shape = raw === 'Object' || raw === 'system / Context' ? `{${names.filter((n) => n !== '__proto__').join(',')}}` : type === 'number' ? ` in ${holderOf.get(i) ?? '?'}` : '';
    const key = `${type}:${raw.length > 60 ? `${raw.slice(0, 57)}...` : raw}${shape}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, e);
  }
  return out;
}

/** Resident KiB by kind of mapping: [heap] (malloc's main arena), anonymous (V8's pages, malloc's mmaps), files. */
function mappings(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let kind = '';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) kind = head[1] === '' ? 'anonymous' : head[1]!;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out.set(kind, (out.get(kind) ?? 0) + Number(rss[1]));
  }
  return out;
}

/** The pages of the node binary's mappings that are mapped in (pagemap's present bit), by address. */
function presentTextPages(pid: number): Set<number> {
  const out = new Set<number>();
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  const fd = fs.openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s+(\S.*)$/.exec(line);
      if (!m || m[3] !== exe) continue;
      const [lo, hi] = [parseInt(m[1]!, 16) / 4096, parseInt(m[2]!, 16) / 4096];
      const buf = Buffer.alloc((hi - lo) * 8);
      fs.readSync(fd, buf, 0, buf.length, lo * 8);
      for (let i = 0; i < hi - lo; i++) if (buf.readBigUInt64LE(i * 8) >> 63n) out.add((lo + i) * 4096);
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Pages mapped in since `before`, counted by the function (nm) each page starts in, largest first. */
function newTextPagesBySymbol(pid: number, before: Set<number>, top: number): string[] {
  const fresh = [...presentTextPages(pid)].filter((p) => !before.has(p)).sort((a, b) => a - b);
  const nm = spawnSync('nm', ['-n', '-C', '--defined-only', fs.readlinkSync(`/proc/${pid}/exe`)], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const syms = nm.stdout
    .split('\n')
    .map((l) => /^([0-9a-f]+) [tTwW] (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ addr: parseInt(m[1]!, 16), name: m[2]! }));
  const byName = new Map<string, number>();
  let j = 0;
  for (const page of fresh) {
    // every symbol that starts within the page, or the one the page starts in
    while (j + 1 < syms.length && syms[j + 1]!.addr <= page) j++;
    const names = new Set<string>([syms[j]?.name ?? '?']);
    for (let k = j + 1; k < syms.length && syms[k]!.addr < page + 4096; k++) names.add(syms[k]!.name);
    // attribute the page to a coarse area: V8's namespace part, else the name
    for (const n of names) {
      const area = /^(v8::internal::[A-Za-z]+|v8::[A-Za-z]+|node::[A-Za-z]+|uv_[a-z]+|[A-Za-z_]+)/.exec(n)?.[1] ?? n;
      byName.set(area, (byName.get(area) ?? 0) + 1 / names.size);
    }
  }
  return [`${fresh.length} pages (${fresh.length * 4} KiB) of the node binary newly mapped in`, ...[...byName].sort((a, b) => b[1] - a[1]).slice(0, top).map(([n, c]) => `${(c * 4).toFixed(0).padStart(7)} KiB  ${n}`)];
}

async function snapshotOf(pid: number, dir: string): Promise<string> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await sleep(100);
    const fresh = fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // Written in one go; its size stops changing once done.
    if (fresh.length > 0) {
      const file = path.join(dir, fresh[0]!);
      const size = fs.statSync(file).size;
      await sleep(500);
      if (fs.statSync(file).size === size && size > 0) return file;
    }
  }
  throw new Error('no heap snapshot written');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1]! : def;
  };
  const count = Number(opt('count', '2000'));
  const top = Number(opt('top', '30'));
  const rssOnly = args.includes('--rss-only');
  const waves = Number(opt('waves', '1'));
  const nodeFlags = opt('node-flags', '').split(' ').filter(Boolean);
  const timeline = args.includes('--timeline');
  const textPages = args.includes('--text-pages');
  const warmCount = Number(opt('warm', '20'));
  const warmOpen = args.includes('--warm-open');
  const main = opt('main', '');
  if (main) setSocksgateMain(path.resolve(main));
  const extra = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];
  if (!args.includes('--no-build') && !main) spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-heap-'));
  const lab: Lab = await createLab();
  try {
    const servers = await startServers(lab, { echo: true });
    const running = await startVariant(lab, 'socksgate', servers.dante, { nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`, ...nodeFlags], extraArgs: extra });
    const pid = running.pid!;
    const started = performance.now();
    try {
      const open = async (n: number) => {
        const client = lab.spawn('client', process.execPath, [IDLE_CLIENT, '--host', LAB_ADDR.internet, '--port', String(ECHO_PORT), '--count', String(n), '--concurrency', '100'], { name: `idle-${n}`, stdin: 'pipe' });
        for (let i = 0; i < 1200 && !/open \d+/.test(client.output()); i++) await sleep(100);
        return client;
      };
      // Warm-up: first-use allocations are not per connection.
      const warm = await open(warmCount);
      if (!warmOpen) {
        warm.stdin?.end('close\n');
        await warm.exited();
      }
      await sleep(warmOpen ? 15_000 : 1000);
      if (rssOnly) {
        // RSS per connection as the bench's memory figure takes it, with no snapshot to disturb it;
        // with --waves N, N waves on the one process (the later ones show the marginal cost once
        // the first has touched what any load touches once).
        for (let w = 1; w <= waves; w++) {
          const rss0 = rssKiB(pid);
          const maps0 = mappings(pid);
          const pages0 = textPages ? presentTextPages(pid) : undefined;
          const client = await open(count);
          const opened = Number(/open (\d+)/.exec(client.output())?.[1] ?? 0);
          const opened0 = performance.now();
          await sleep(1000);
          const rss1 = rssKiB(pid);
          if (timeline) {
            for (let s = 2; s <= 15; s++) {
              await sleep(1000);
              const m = mappings(pid);
              console.log(`  t+${s}s rss ${rssKiB(pid)} anon ${m.get('anonymous')} heap ${m.get('[heap]')}`);
            }
          } else await sleep(14_000);
          const rss15 = rssKiB(pid);
          const maps15 = mappings(pid);
          if (pages0) for (const l of newTextPagesBySymbol(pid, pages0, top)) console.log(`  ${l}`);
          client.stdin?.end('close\n');
          await client.exited();
          console.log(`wave ${w}: ${opened} connections; RSS per connection 1 s after: ${((rss1 - rss0) / opened).toFixed(2)} KiB, 15 s after: ${((rss15 - rss0) / opened).toFixed(2)} KiB (RSS before ${rss0} KiB)`);
          for (const [kind, kib] of maps15) {
            const grew = kib - (maps0.get(kind) ?? 0);
            if (Math.abs(grew) >= 64) console.log(`  ${kind}: ${grew > 0 ? '+' : ''}${grew} KiB (${((grew * 1024) / opened).toFixed(0)} bytes per connection)`);
          }
          if (w < waves) await sleep(15_000); // the release after a burst (memory-after-bursts.ts)
          if (timeline) console.log(`  opened ${Math.round(opened0 - started)} ms after start`);
        }
        if (timeline) console.log(running.proc?.output());
        return;
      }
      const emptyFile = await snapshotOf(pid, dir);
      const rss0 = rssKiB(pid);
      const client = await open(count);
      const opened = Number(/open (\d+)/.exec(client.output())?.[1] ?? 0);
      await sleep(1000);
      const rss1 = rssKiB(pid);
      const loadedFile = await snapshotOf(pid, dir);
      const rss2 = rssKiB(pid);
      client.stdin?.end('close\n');
      await client.exited();
      const [a, b] = [census(emptyFile), census(loadedFile)];
      const rows = [...b].map(([key, v]) => ({ key, count: (v.count - (a.get(key)?.count ?? 0)) / opened, bytes: (v.bytes - (a.get(key)?.bytes ?? 0)) / opened }));
      rows.sort((x, y) => y.bytes - x.bytes);
      const total = rows.reduce((s, r) => s + r.bytes, 0);
      console.log(`${opened} connections; RSS per connection 1 s after: ${((rss1 - rss0) / opened).toFixed(2)} KiB, after the snapshot's collection: ${((rss2 - rss0) / opened).toFixed(2)} KiB; live JS heap per connection: ${total.toFixed(0)} bytes`);
      console.log('objects/conn  bytes/conn  type:name');
      for (const r of rows.slice(0, top)) console.log(`${r.count.toFixed(2).padStart(12)}  ${r.bytes.toFixed(0).padStart(10)}  ${r.key}`);
    } finally {
      await running.stop();
    }
  } finally {
    await lab.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
