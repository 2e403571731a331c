import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForLog, type Lab, type LabProcess, type NsRef } from './lab.js';

export const REDIRECT_PORT = 12345;
export const TPROXY_PORT = 12347;
export const DAEMON_MARK = 2;
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

/** The node flags of a main.js's shebang (`#!/usr/bin/env -S node …`), so it runs as its bin does. */
export function shebangFlags(main: string): string[] {
  const first = readFileSync(main, 'utf8').split('\n', 1)[0]!;
  return /^#!\/usr\/bin\/env -S node (.+)$/.exec(first)?.[1]!.split(/\s+/) ?? [];
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface Daemon {
  readonly proc: LabProcess;
  lines(): LogLine[];
  /** Bounded wait for a log line whose message (or any field) matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** socksgate started through its CLI, as a user would, inside a lab namespace. */
export async function startSocksgate(
  lab: Lab,
  ns: NsRef,
  args: readonly string[],
  opts: {
    name?: string;
    env?: NodeJS.ProcessEnv;
    logLevel?: 'debug' | 'info';
    /** A command that execs the rest, e.g. ['prlimit', '--nofile=64:64', '--']. */
    wrapper?: readonly string[];
  } = {},
): Promise<Daemon> {
  const command = [...(opts.wrapper ?? []), process.execPath, ...shebangFlags(MAIN), MAIN, 'run', '--log-level', opts.logLevel ?? 'debug', ...args];
  const proc = lab.spawn(ns, command[0]!, command.slice(1), {
    name: opts.name ?? 'socksgate',
    env: { ...process.env, ...opts.env },
  });
  const lines = () =>
    readFileSync(proc.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const daemon: Daemon = {
    proc,
    lines,
    async waitFor(pattern, timeoutMs = 5_000) {
      const line = await waitForLog(proc.logPath, pattern, timeoutMs);
      return JSON.parse(line) as LogLine;
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      await proc.exited();
      return proc.exitCode;
    },
  };
  try {
    await daemon.waitFor(/"msg":"socksgate running"/, 10_000);
  } catch (err) {
    throw new Error(`socksgate did not start:\n${proc.output()}`, { cause: err });
  }
  return daemon;
}

/** Who a diversion leaves alone: the daemon by its SO_MARK, or a program by uid (redsocks has no SO_MARK). */
export type Exclusion = { mark: number } | { uid: number };

function exclusionMatch(exclude: Exclusion): string {
  return 'mark' in exclude ? `-m mark --mark 0x${exclude.mark.toString(16)}/0x${exclude.mark.toString(16)}` : `-m owner --uid-owner ${exclude.uid}`;
}

/** The KERNEL.md REDIRECT recipe for locally generated traffic, excluding the daemon by mark (default). */
export async function applyRedirectRules(lab: Lab, ns: NsRef, opts: { ipv6?: boolean; port?: number; exclude?: Exclusion } = {}): Promise<void> {
  const port = opts.port ?? REDIRECT_PORT;
  const loopback = opts.ipv6 ? '::1/128' : '127.0.0.0/8';
  const rules = [
    '*nat',
    ':SG_REDIR - [0:0]',
    '-A OUTPUT -p tcp -j SG_REDIR',
    `-A SG_REDIR ${exclusionMatch(opts.exclude ?? { mark: DAEMON_MARK })} -j RETURN`,
    '-A SG_REDIR -m addrtype --dst-type LOCAL -j RETURN',
    `-A SG_REDIR -d ${loopback} -j RETURN`,
    `-A SG_REDIR -p tcp -j REDIRECT --to-ports ${port}`,
    'COMMIT',
    '',
  ].join('\n');
  await lab.exec(ns, opts.ipv6 ? 'ip6tables-restore' : 'iptables-restore', ['--noflush'], { input: rules });
}

/**
 * The KERNEL.md TPROXY recipe for locally generated TCP or UDP, both families, excluding the daemon
 * by mark (default). For UDP, `addrtype LOCAL` RETURN is what keeps the daemon's spoofed replies
 * (source: the remote, destination: the local app) from being diverted again. One chain per
 * protocol, so TCP and UDP combine on the same port.
 */
export async function applyTproxyRecipe(lab: Lab, ns: NsRef, proto: 'tcp' | 'udp', opts: { port?: number; exclude?: Exclusion } = {}): Promise<void> {
  const chain = proto === 'tcp' ? 'SG_TP_OUT' : 'SG_TPU_OUT';
  for (const v6 of [false, true]) {
    const family = v6 ? '-6' : '-4';
    // `ip rule add` is not idempotent: delete first (the other protocol may have added the same rule).
    await lab.exec(ns, 'ip', [family, 'rule', 'del', 'fwmark', '0x1/0x1', 'lookup', '100'], { allowFail: true });
    await lab.exec(ns, 'ip', [family, 'rule', 'add', 'fwmark', '0x1/0x1', 'lookup', '100']);
    await lab.exec(ns, 'ip', [family, 'route', 'replace', 'local', v6 ? '::/0' : '0.0.0.0/0', 'dev', 'lo', 'table', '100']);
    const udpOnly = [`-A ${chain} -d ${v6 ? 'ff00::/8' : '224.0.0.0/4'} -j RETURN`, ...(v6 ? [] : [`-A ${chain} -d 255.255.255.255/32 -j RETURN`])];
    const rules = [
      '*mangle',
      `:${chain} - [0:0]`,
      `-A OUTPUT -p ${proto} -j ${chain}`,
      `-A ${chain} ${exclusionMatch(opts.exclude ?? { mark: DAEMON_MARK })} -j RETURN`,
      `-A ${chain} -m addrtype --dst-type LOCAL -j RETURN`,
      `-A ${chain} -d ${v6 ? '::1/128' : '127.0.0.0/8'} -j RETURN`,
      ...(proto === 'udp' ? udpOnly : []),
      `-A ${chain} -p ${proto} -j MARK --set-xmark 0x1/0x1`,
      `-A PREROUTING -i lo -p ${proto} -m mark --mark 0x1/0x1 -j TPROXY --on-port ${opts.port ?? TPROXY_PORT} --on-ip ${v6 ? '::1' : '127.0.0.1'} --tproxy-mark 0x1/0x1`,
      'COMMIT',
      '',
    ].join('\n');
    await lab.exec(ns, v6 ? 'ip6tables-restore' : 'iptables-restore', ['--noflush'], { input: rules });
  }
}

export const applyTproxyRules = (lab: Lab, ns: NsRef, port = TPROXY_PORT) => applyTproxyRecipe(lab, ns, 'tcp', { port });
export const applyTproxyUdpRules = (lab: Lab, ns: NsRef, port = TPROXY_PORT) => applyTproxyRecipe(lab, ns, 'udp', { port });
