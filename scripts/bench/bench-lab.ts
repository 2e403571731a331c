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

/**
 * Waits until a socksifier spawned at `t0` (performance.now()) listens on every one of `ports`,
 * or kills it and throws; startupMs is spawn to listening (includes `ip netns exec`).
 */
export async function listeningSince(lab: Lab, proc: LabProcess, t0: number, ports: { port: number; proto: 'tcp' | 'udp' }[]): Promise<{ proc: LabProcess; startupMs: number }> {
  try {
    for (const { port, proto } of ports) await waitListening(lab, 'client', port, 10_000, proc, proto);
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  return { proc, startupMs: performance.now() - t0 };
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
