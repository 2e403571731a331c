import fsp from 'node:fs/promises';
import path from 'node:path';
import { LAB_ADDR, TEST_PASS, TEST_USER } from '../constants.js';
import type { Lab } from '../types.js';
import { started, type SocksHandle } from './started.js';

export interface DanteOptions {
  port?: number;
  auth?: 'none' | 'userpass';
  /** CIDRs (v4 or v6) the server refuses to CONNECT to (SOCKS5 REP=2 "not allowed by ruleset"). */
  block?: string[];
  /**
   * Dante's `udp.connectdst` (default yes: it connects its outer UDP socket to the first
   * destination). With yes, an IPv6 association gets no replies from a second remote host.
   */
  udpConnectDst?: boolean;
  /**
   * Also listen on the internet side (198.51.100.1:<port>): where another Dante, as the hop in front
   * of this one in a chain, can reach it (it connects from its external address only).
   */
  internetSide?: boolean;
  timeoutMs?: number;
}

/**
 * Dante (danted) in the proxy namespace on 192.0.2.1:<port> (and [2001:db8:1::1] with ipv6),
 * external 198.51.100.1 (+ 2001:db8:2::1). auth 'none' also serves SOCKS4/4a; 'userpass' is
 * RFC 1929 with sgtest / sgpass-Lab1 (system password, see scripts/test-deps).
 * The log shows each CONNECT: `pass(N): tcp/connect ]: 192.0.2.2.P 192.0.2.1.1080 -> 198.51.100.1.P 198.51.100.2.80`.
 */
export async function startDante(lab: Lab, opts: DanteOptions = {}): Promise<SocksHandle & { config: string; auth: 'none' | 'userpass' }> {
  const port = opts.port ?? 1080;
  const auth = opts.auth ?? 'none';
  const A = LAB_ADDR;
  const log = path.join(lab.dir, `danted-${port}-sockd.log`);
  const config = path.join(lab.dir, `danted-${port}.conf`);
  const lines = [
    '# socksgate e2e lab',
    `logoutput: ${log}`,
    `internal: ${A.proxyClientSide} port = ${port}`,
    ...(lab.ipv6 ? [`internal: ${A.proxyClientSide6} port = ${port}`] : []),
    ...(opts.internetSide ? [`internal: ${A.proxyInternetSide} port = ${port}`] : []),
    `external: ${A.proxyInternetSide}`,
    ...(lab.ipv6 ? [`external: ${A.proxyInternetSide6}`] : []),
    'external.rotation: route',
    `socksmethod: ${auth === 'userpass' ? 'username' : 'none'}`,
    'clientmethod: none',
    'user.privileged: root',
    'user.unprivileged: nobody',
    'timeout.negotiate: 10',
    ...(opts.udpConnectDst === false ? ['udp.connectdst: no'] : []),
    'client pass { from: 0/0 to: 0/0 log: error }',
    ...(opts.block ?? []).map((cidr) => `socks block { from: 0/0 to: ${cidr} log: connect error }`),
    'socks pass { from: 0/0 to: 0/0 log: connect disconnect error }',
    '',
  ];
  await fsp.writeFile(config, lines.join('\n'));
  const pidFile = path.join(lab.dir, `danted-${port}.pid`);
  const proc = lab.spawn('proxy', 'danted', ['-f', config, '-p', pidFile, '-N', '1'], { name: `danted-${port}` });
  const endpoints: [string, number][] = [[A.proxyClientSide, port]];
  if (lab.ipv6) endpoints.push([A.proxyClientSide6, port]);
  return started(lab, proc, 'proxy', endpoints, opts.timeoutMs ?? 10_000, {
    host: A.proxyClientSide,
    ...(lab.ipv6 ? { host6: A.proxyClientSide6 } : {}),
    port,
    ...(auth === 'userpass' ? { user: TEST_USER, pass: TEST_PASS } : {}),
    log,
    config,
    auth,
  });
}

/**
 * Signals a Dante's whole process group: it forks a child per session batch, and those children
 * carry live sessions, so signalling the main process alone would leave them serving.
 */
export function signalDante(dante: SocksHandle, signal: NodeJS.Signals): void {
  process.kill(-dante.proc.pid!, signal);
}
