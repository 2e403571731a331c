/**
 * The benchmark's namespace lab: test/e2e/lab.ts (client 192.0.2.2 ⇄ proxy 192.0.2.1|198.51.100.1
 * ⇄ internet 198.51.100.2) plus the servers the figures need, clearing the REDIRECT (TCP) and
 * TPROXY (UDP) rules in the client namespace (the recipes themselves are test/e2e/socksgate.ts's),
 * and the "direct" path.
 *
 * Direct (no proxy) means: the proxy namespace forwards (ip_forward=1, set only while a direct
 * measurement runs) and the internet namespace gets a route back to 192.0.2.0/24. The client's
 * packets then cross the same two veth links as proxied traffic does, with the kernel forwarding
 * instead of a SOCKS server relaying.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { LAB_ADDR, TEST_PASS, TEST_USER, startEcho, startNginx, type Lab, type LabProcess, type NginxHandle } from '../../test/e2e/lab.js';
import { sleep } from './util.js';

export const REDIRECT_PORT = 12345;
export const DAEMON_MARK = 2;
export const IPERF_PORT = 5201;
export const ECHO_PORT = 7777;
/** TPROXY listener for the UDP figure (KERNEL.md's UDP port); the TPROXY fwmark is 0x1. */
export const TPROXY_PORT = 12346;
/** UDP echo server in the internet namespace (≥ 1024: see redsocks.ts on redudp's reply sockets). */
export const UDP_ECHO_PORT = 7001;

export interface DanteHandle {
  host: string;
  port: number;
  auth?: { user: string; pass: string };
  proc: LabProcess;
  log: string;
  /** false: the server cannot take a pipelined greeting and CONNECT (microsocks). */
  pipelining?: boolean;
}

/**
 * Dante in the proxy namespace, like test/e2e/lab.ts startDante but logging errors only: the e2e
 * config logs every connect and disconnect, which costs Dante CPU in the connection-rate figure.
 */
export async function startBenchDante(lab: Lab, opts: { port: number; auth?: boolean }): Promise<DanteHandle> {
  const A = LAB_ADDR;
  const log = path.join(lab.dir, `bench-danted-${opts.port}.log`);
  const config = path.join(lab.dir, `bench-danted-${opts.port}.conf`);
  await fsp.writeFile(
    config,
    [
      '# socksgate benchmark',
      `logoutput: ${log}`,
      `internal: ${A.proxyClientSide} port = ${opts.port}`,
      `external: ${A.proxyInternetSide}`,
      `socksmethod: ${opts.auth ? 'username' : 'none'}`,
      'clientmethod: none',
      'user.privileged: root',
      'user.unprivileged: nobody',
      'timeout.negotiate: 10',
      'timeout.io: 0',
      'client pass { from: 0/0 to: 0/0 log: error }',
      'socks pass { from: 0/0 to: 0/0 log: error }',
      '',
    ].join('\n'),
  );
  const proc = lab.spawn('proxy', 'danted', ['-f', config, '-p', path.join(lab.dir, `bench-danted-${opts.port}.pid`), '-N', '1'], {
    name: `bench-danted-${opts.port}`,
  });
  await lab.waitForPort('proxy', A.proxyClientSide, opts.port, 10_000, proc);
  return { host: A.proxyClientSide, port: opts.port, ...(opts.auth ? { auth: { user: TEST_USER, pass: TEST_PASS } } : {}), proc, log };
}

/** Bounded wait until something listens on TCP `port` in `ns`, or a UDP socket is bound to it (ss, so nothing connects to it). */
export async function waitListening(lab: Lab, ns: string, port: number, timeoutMs = 10_000, proc?: LabProcess, proto: 'tcp' | 'udp' = 'tcp'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await lab.exec(ns, 'ss', [proto === 'tcp' ? '-Hltn' : '-Hlun', `sport = :${port}`], { allowFail: true });
    if (r.stdout.trim() !== '') return;
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      throw new Error(`${proc.label} exited before listening on ${proto} ${port}:\n${proc.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`nothing listens on ${proto} ${port} in ${ns} after ${timeoutMs} ms${proc ? `\n${proc.output()}` : ''}`);
    await sleep(5);
  }
}

/** RLIMIT_NOFILE hard limit on these machines (KERNEL.md): what the C socksifiers are told to raise theirs to. */
export const NOFILE_LIMIT = 20_000;

const OWN_NETNS = fs.readlinkSync('/proc/self/ns/net');

/**
 * Whether a socket listens on TCP `port` (state 0A) or is bound to UDP `port`, in the network
 * namespace of process `pid`, from /proc/PID/net/{tcp,tcp6} or {udp,udp6}: those files show the
 * sockets of the namespace the process is in. false while the process is still in this process's
 * namespace (`ip netns exec` before its setns); null: the process is gone (or /proc unreadable).
 */
export function boundInNamespaceOf(pid: number, port: number, proto: 'tcp' | 'udp'): boolean | null {
  try {
    if (fs.readlinkSync(`/proc/${pid}/ns/net`) === OWN_NETNS) return false;
  } catch {
    return null;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let gone = 0;
  for (const file of proto === 'tcp' ? ['tcp', 'tcp6'] : ['udp', 'udp6']) {
    let table: string;
    try {
      table = fs.readFileSync(`/proc/${pid}/net/${file}`, 'latin1');
    } catch {
      gone++;
      continue;
    }
    // "  sl  local_address rem_address   st ...": fields 1 (local address:port) and 3 (state)
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[1]!.endsWith(`:${hexPort}`) && (proto === 'udp' || f[3] === '0A')) return true;
    }
  }
  return gone === 2 ? null : false;
}

/** A socksifier spawned and listening. */
export interface Started {
  proc: LabProcess;
  /** Spawn to listening, wall time (includes `ip netns exec`). */
  startupMs: number;
  /**
   * CPU time the process (all its threads, `ip netns exec` before the exec included) had used when
   * it was seen listening, from /proc/PID/task/TID/schedstat: unlike the wall time, barely moved
   * by whatever else runs on the machine. undefined when /proc could not tell.
   */
  startupCpuMs?: number;
}

/** On-CPU time of every thread of `pid` so far (schedstat's first field, ns), in ms; undefined if gone. */
function cpuMsSoFar(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Waits until a socksifier spawned at `t0` (performance.now()) listens on every one of `ports`,
 * or kills it and throws; startupMs is spawn to listening (includes `ip netns exec`).
 *
 * Polled from this process by reading the spawned process's /proc/PID/net/* every ~1 ms (`ip netns
 * exec` execs the socksifier, so the pid stays; setpriv execs too): the same for every socksifier,
 * and nothing spawned while it starts. Polling with `ss` cost a process spawn (~10 ms of CPU) per
 * look, which on 2 cores slowed the start being timed and rounded it up to the next look. `ss` is
 * asked only if the process's /proc is unreadable (it exited, after forking a daemon, say).
 */
export async function listeningSince(lab: Lab, proc: LabProcess, t0: number, ports: { port: number; proto: 'tcp' | 'udp' }[]): Promise<Started> {
  const deadline = t0 + 10_000;
  try {
    let pending = [...ports];
    for (;;) {
      const left: typeof pending = [];
      for (const p of pending) {
        const bound = proc.pid === undefined ? null : boundInNamespaceOf(proc.pid, p.port, p.proto);
        if (bound === null) await waitListening(lab, 'client', p.port, Math.max(0, deadline - performance.now()), proc, p.proto);
        else if (!bound) left.push(p);
      }
      pending = left;
      if (pending.length === 0) break;
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${proc.label} exited before listening:\n${proc.output()}`);
      if (performance.now() > deadline) throw new Error(`${proc.label} does not listen on ${pending.map((p) => `${p.proto} ${p.port}`).join(', ')} after 10 s:\n${proc.output()}`);
      await sleep(1);
    }
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  const startupMs = performance.now() - t0;
  const startupCpuMs = proc.pid === undefined ? undefined : cpuMsSoFar(proc.pid);
  return { proc, startupMs, ...(startupCpuMs === undefined ? {} : { startupCpuMs }) };
}

/** Empty mangle tables and no TPROXY routing in the client namespace, both families (TCP and UDP rules alike). */
export async function clearTproxy(lab: Lab): Promise<void> {
  for (const v6 of [false, true]) {
    await lab.exec('client', v6 ? 'ip6tables-restore' : 'iptables-restore', [], {
      input: '*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n',
    });
    await lab.exec('client', 'ip', [v6 ? '-6' : '-4', 'rule', 'del', 'fwmark', '0x1/0x1', 'lookup', '100'], { allowFail: true });
    await lab.exec('client', 'ip', [v6 ? '-6' : '-4', 'route', 'flush', 'table', '100'], { allowFail: true });
  }
}

/** Empty nat table in the client namespace. */
export async function clearRedirect(lab: Lab): Promise<void> {
  await lab.exec('client', 'iptables-restore', [], { input: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n' });
}

/** Let the client reach the internet namespace without a proxy (see the header). */
export async function directOn(lab: Lab): Promise<void> {
  await lab.exec('proxy', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  await lab.exec('internet', 'ip', ['route', 'replace', LAB_ADDR.clientNet, 'via', LAB_ADDR.proxyInternetSide]);
}

export async function directOff(lab: Lab): Promise<void> {
  await lab.exec('internet', 'ip', ['route', 'del', LAB_ADDR.clientNet], { allowFail: true });
  await lab.exec('proxy', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
}

export interface Servers {
  nginx: NginxHandle;
  dante: DanteHandle;
  danteAuth?: DanteHandle;
}

/** microsocks in the proxy namespace: one process, a thread per connection (lighter than Dante's forks). */
export async function startBenchMicrosocks(lab: Lab, port: number): Promise<DanteHandle> {
  const proc = lab.spawn('proxy', 'microsocks', ['-i', LAB_ADDR.proxyClientSide, '-p', String(port)], { name: `bench-microsocks-${port}` });
  await waitListening(lab, 'proxy', port, 10_000, proc);
  return { host: LAB_ADDR.proxyClientSide, port, proc, log: proc.logPath, pipelining: false };
}

/** nginx (+ iperf3 server and echo server for the throughput / memory lab) and Dante. */
export async function startServers(lab: Lab, opts: { iperf?: boolean; echo?: boolean; auth?: boolean; upstream?: 'dante' | 'microsocks' }): Promise<Servers> {
  const nginx = await startNginx(lab);
  if (opts.iperf) {
    const iperf = lab.spawn('internet', 'iperf3', ['-s', '-B', LAB_ADDR.internet, '-p', String(IPERF_PORT)], { name: 'iperf3-server' });
    await waitListening(lab, 'internet', IPERF_PORT, 10_000, iperf);
  }
  if (opts.echo) await startEcho(lab, { port: ECHO_PORT });
  // `dante` names the upstream of the bulk, connections/s and memory figures, whichever server it is.
  const dante = opts.upstream === 'microsocks' ? await startBenchMicrosocks(lab, 1081) : await startBenchDante(lab, { port: 1080 });
  const danteAuth = opts.auth ? await startBenchDante(lab, { port: 1090, auth: true }) : undefined;
  return { nginx, dante, ...(danteAuth ? { danteAuth } : {}) };
}
