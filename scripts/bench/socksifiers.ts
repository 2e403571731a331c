/**
 * The things compared: socksgate (its default relay; and `--relay copy`, the Node-streams relay,
 * when the build has that option), redsocks (splice, its default), redsocks with `splice = off`,
 * ipt2socks, hev-socks5-tproxy, and direct (no proxy). Each runs in the client namespace with its
 * own diversion rules: TCP by REDIRECT (hev-socks5-tproxy, which has no REDIRECT mode: by TPROXY);
 * with `udp`, UDP only by TPROXY (socksgate --tproxy, redsocks' redudp, ipt2socks -U, hev's udp
 * listener). start() returns once traffic from the client namespace goes through it, stop() undoes
 * everything.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from '../../test/e2e/lab.js';
import { DAEMON_MARK, REDIRECT_PORT, TPROXY_PORT, clearRedirect, clearTproxy, directOff, directOn, listeningSince, type DanteHandle, type Started } from './bench-lab.js';
import { startHev } from './hev.js';
import { startIpt2socks } from './ipt2socks.js';
import { peerUid, type PeerBinaries } from './peers.js';
import { startRedsocks } from './redsocks.js';
import { writeRouteLists } from './route-lists.js';
import { applyRedirectRules, applyTproxyRecipe, shebangFlags, type Exclusion } from '../../test/e2e/socksgate.js';

/** Prefixes and names in the route lists of `socksgate-rules` (issue #15: 100,000 of each). */
const ROUTE_LIST_SIZE = 100_000;

export type VariantId = 'direct' | 'socksgate' | 'socksgate-copy' | 'socksgate-optimistic' | 'socksgate-workers2' | 'socksgate-rules' | 'redsocks' | 'redsocks-nosplice' | 'ipt2socks' | 'hev';

export const LABELS: Readonly<Record<VariantId, string>> = {
  direct: 'direct',
  socksgate: 'socksgate',
  'socksgate-copy': 'socksgate (--relay copy)',
  'socksgate-optimistic': 'socksgate (--optimistic-data)',
  'socksgate-workers2': 'socksgate (--workers 2)',
  'socksgate-rules': `socksgate (${ROUTE_LIST_SIZE / 1000}k CIDR + ${ROUTE_LIST_SIZE / 1000}k domain rules)`,
  redsocks: 'redsocks (splice)',
  'redsocks-nosplice': 'redsocks (splice = off)',
  ipt2socks: 'ipt2socks',
  hev: 'hev-socks5-tproxy',
};

/** The C socksifiers socksgate is measured against: "best peer" is the best of these. */
export const PEERS: readonly VariantId[] = ['redsocks', 'redsocks-nosplice', 'ipt2socks', 'hev'];

/** Column order of the table. */
export const ALL_VARIANTS: readonly VariantId[] = ['direct', 'socksgate', 'socksgate-copy', 'socksgate-optimistic', 'socksgate-workers2', 'socksgate-rules', 'redsocks', 'redsocks-nosplice', 'ipt2socks', 'hev'];

/** Columns measured only for the time-to-first-byte figure (what they change shows nowhere else). */
export const TTFB_ONLY_VARIANTS: readonly VariantId[] = ['socksgate-optimistic'];

/**
 * Columns measured only for the connections/s figure (its CPU figure sums the workers' CPU; what
 * big route lists cost is a per-flow decision).
 */
export const CPS_ONLY_VARIANTS: readonly VariantId[] = ['socksgate-workers2', 'socksgate-rules'];

let routeConfig: string | undefined;

/**
 * A config of route rules as a router's would be: a direct cidr_file and a reject domain_file of
 * ROUTE_LIST_SIZE entries each, before the final upstream (given by --upstream). Written once.
 */
function routeListsConfig(): string {
  if (routeConfig) return routeConfig;
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench-out/route-lists');
  mkdirSync(dir, { recursive: true });
  const { cidrFile, domainFile } = writeRouteLists(dir, ROUTE_LIST_SIZE, ROUTE_LIST_SIZE);
  routeConfig = path.join(dir, 'config.yaml');
  writeFileSync(routeConfig, `route:\n  rules:\n    - { cidr_file: ${cidrFile}, action: direct }\n    - { domain_file: ${domainFile}, action: reject }\n`);
  return routeConfig;
}

let peerBins: PeerBinaries | undefined;

/** Where the ipt2socks and hev-socks5-tproxy binaries are (run.ts, from peers.ts). */
export function setPeerBinaries(bins: PeerBinaries): void {
  peerBins = bins;
}

function peerBinary(name: keyof PeerBinaries): string {
  if (!peerBins) throw new Error(`${name}: setPeerBinaries() was not called`);
  return peerBins[name];
}

let socksgateMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

/** Run socksgate from this main.js (run.ts points it at a snapshot of dist/). */
export function setSocksgateMain(main: string): void {
  socksgateMain = main;
}

/** node's arguments to run socksgate as its bin does (the shebang's flags, then main.js). */
export function socksgateArgv(): string[] {
  return [...shebangFlags(socksgateMain), socksgateMain];
}

/**
 * Whether this socksgate build has `run --relay splice|copy`, and which relay its help calls the
 * default ('unknown' when it does not say).
 */
export function socksgateRelayOption(): { hasRelay: boolean; defaultRelay: string } {
  const r = spawnSync(process.execPath, [socksgateMain, 'run', '--help'], { encoding: 'utf8', timeout: 20_000 });
  const help = `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ');
  const at = help.indexOf('--relay ');
  if (at < 0) return { hasRelay: false, defaultRelay: 'unknown' };
  const m = /\b(splice|copy) \([^)]*default\)/.exec(help.slice(at, at + 300));
  return { hasRelay: true, defaultRelay: m?.[1] ?? 'unknown' };
}

export interface Running {
  readonly id: VariantId;
  /** The socksifier process (null for direct). */
  readonly pid: number | null;
  readonly proc?: LabProcess;
  /** Spawn to listening, ms (every socksifier; includes `ip netns exec`). */
  readonly startupMs?: number;
  /** CPU the process had used by then, ms (bench-lab.ts Started). */
  readonly startupCpuMs?: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Write a V8 CPU profile of socksgate here (node --cpu-prof). */
  profileDir?: string;
  /** Extra node flags for socksgate (e.g. --trace-gc, --max-semi-space-size=…). */
  nodeFlags?: string[];
  /** redsocks_conn_max, for the memory figure. */
  connMax?: number;
  /** Label suffix for log files. */
  tag?: string;
  /** More `socksgate run` flags (socksgate variants only). */
  extraArgs?: string[];
  /** Divert UDP by TPROXY (to TPROXY_PORT) instead of TCP by REDIRECT: the UDP figure. */
  udp?: boolean;
}

export function socksgateUrl(up: DanteHandle): string {
  const user = up.auth ? `${encodeURIComponent(up.auth.user)}@` : '';
  const pipelining = `?pipelining=${up.pipelining === false ? 'off' : 'on'}`;
  const q = up.auth ? `${pipelining}&password_env=SG_PASS` : pipelining;
  return `socks5://${user}${up.host}:${up.port}${q}`;
}

async function stopProc(lab: Lab, proc: LabProcess, graceMs: number): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    await Promise.race([proc.exited(), new Promise((r) => setTimeout(r, graceMs))]);
  }
  await lab.kill(proc, 500);
}

/**
 * Diverts the client namespace's traffic to a started socksifier (the KERNEL.md recipes: UDP by
 * TPROXY for the UDP figure, else TCP by REDIRECT, or by TPROXY for `tproxyTcp`); stop() undoes
 * that, then stops the process.
 */
async function diverted(lab: Lab, id: VariantId, opts: StartOptions & { tproxyTcp?: boolean }, exclude: Exclusion, started: Started, graceMs: number): Promise<Running> {
  if (opts.udp) await applyTproxyRecipe(lab, 'client', 'udp', { port: TPROXY_PORT, exclude });
  else if (opts.tproxyTcp) await applyTproxyRecipe(lab, 'client', 'tcp', { port: REDIRECT_PORT, exclude });
  else await applyRedirectRules(lab, 'client', { exclude });
  const { proc, startupMs, startupCpuMs } = started;
  return {
    id,
    pid: proc.pid!,
    proc,
    startupMs,
    ...(startupCpuMs === undefined ? {} : { startupCpuMs }),
    stop: async () => {
      await (opts.udp || opts.tproxyTcp ? clearTproxy(lab) : clearRedirect(lab));
      await stopProc(lab, proc, graceMs);
    },
  };
}

export async function startVariant(lab: Lab, id: VariantId, up: DanteHandle, opts: StartOptions = {}): Promise<Running> {
  const tag = opts.tag ? `-${opts.tag}` : '';
  if (id === 'direct') {
    await clearRedirect(lab);
    if (opts.udp) await clearTproxy(lab);
    await directOn(lab);
    return { id, pid: null, stop: () => directOff(lab) };
  }
  if (id === 'socksgate' || id === 'socksgate-copy' || id === 'socksgate-optimistic' || id === 'socksgate-workers2' || id === 'socksgate-rules') {
    const flags = [...shebangFlags(socksgateMain), ...(opts.nodeFlags ?? []), ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [])];
    const variantArgs: Partial<Record<VariantId, () => string[]>> = {
      'socksgate-copy': () => ['--relay', 'copy'],
      'socksgate-optimistic': () => ['--optimistic-data'],
      'socksgate-workers2': () => ['--workers', '2'],
      'socksgate-rules': () => ['-c', routeListsConfig()],
    };
    const relay = variantArgs[id]?.() ?? [];
    // --tproxy: one transparent listener for TCP and UDP on one port (only UDP is diverted to it)
    const port = opts.udp ? TPROXY_PORT : REDIRECT_PORT;
    const listen = [opts.udp ? '--tproxy' : '--redirect', `127.0.0.1:${port}`];
    const t0 = performance.now();
    const proc = lab.spawn(
      'client',
      process.execPath,
      [...flags, socksgateMain, 'run', '--upstream', socksgateUrl(up), ...listen, '--mark', String(DAEMON_MARK), '--log-level', 'warn', ...relay, ...(opts.extraArgs ?? [])],
      { name: `${id}${tag}`, env: { ...process.env, SG_PASS: up.auth?.pass ?? '' } },
    );
    const started = await listeningSince(lab, proc, t0, [{ port, proto: 'tcp' }, ...(opts.udp ? [{ port, proto: 'udp' as const }] : [])]);
    // a long grace: SIGTERM drains (and writes the CPU profile)
    return diverted(lab, id, opts, { mark: DAEMON_MARK }, started, 12_000);
  }
  const port = opts.udp ? TPROXY_PORT : REDIRECT_PORT;
  const udp = opts.udp === true;
  if (id === 'ipt2socks') {
    const started = await startIpt2socks(lab, `${id}${tag}`, { bin: peerBinary('ipt2socks'), upstream: up, port, udp });
    return diverted(lab, id, opts, { uid: peerUid() }, started, 3_000);
  }
  if (id === 'hev') {
    const started = await startHev(lab, `${id}${tag}`, { bin: peerBinary('hev'), upstream: up, port, udp, mark: DAEMON_MARK });
    return diverted(lab, id, { ...opts, tproxyTcp: !udp }, { mark: DAEMON_MARK }, started, 3_000);
  }
  const redsocks = await startRedsocks(lab, `${id}${tag}`, {
    splice: id === 'redsocks',
    upstream: up,
    ...(opts.connMax ? { connMax: opts.connMax } : {}),
    ...(opts.udp ? { udp: { port: TPROXY_PORT } } : {}),
  });
  return diverted(lab, id, opts, { uid: peerUid() }, redsocks, 3_000);
}

/** Start, run fn, always stop. */
export async function withVariant<T>(lab: Lab, id: VariantId, up: DanteHandle, opts: StartOptions, fn: (r: Running) => Promise<T>): Promise<T> {
  const running = await startVariant(lab, id, up, opts);
  try {
    return await fn(running);
  } finally {
    await running.stop();
  }
}
