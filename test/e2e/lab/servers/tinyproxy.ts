import fsp from 'node:fs/promises';
import path from 'node:path';
import { LAB_ADDR } from '../constants.js';
import type { Lab } from '../types.js';
import { started, type SocksHandle } from './started.js';

/**
 * tinyproxy (HTTP CONNECT and plain HTTP proxy) in the proxy namespace on 192.0.2.1:<port>
 * (or `listen`), foreground, BasicAuth when user/pass are given, Allow 192.0.2.0/24 (and `allow`:
 * e.g. the proxy's own internet side, for a chain whose hop in front is a proxy there).
 * A wrong password gets 401 (not 407).
 */
export async function startTinyproxy(lab: Lab, opts: { port?: number; user?: string; pass?: string; listen?: string; allow?: string[]; timeoutMs?: number } = {}): Promise<SocksHandle & { config: string }> {
  const port = opts.port ?? 8888;
  const host = opts.listen ?? LAB_ADDR.proxyClientSide;
  const log = path.join(lab.dir, `tinyproxy-${port}-proxy.log`);
  const config = path.join(lab.dir, `tinyproxy-${port}.conf`);
  // tinyproxy drops to nobody before opening its log file
  await fsp.writeFile(log, '');
  await fsp.chmod(log, 0o666);
  const lines = [
    '# socksgate e2e lab',
    `Port ${port}`,
    `Listen ${host}`,
    'User nobody',
    'Group nogroup',
    'Timeout 60',
    `LogFile "${log}"`,
    'LogLevel Info',
    'MaxClients 200',
    `Allow ${LAB_ADDR.clientNet}`,
    `Allow ${LAB_ADDR.clientNet6}`,
    'Allow 127.0.0.1',
    ...(opts.allow ?? []).map((cidr) => `Allow ${cidr}`),
    'DisableViaHeader Yes',
  ];
  if (opts.user !== undefined || opts.pass !== undefined) {
    if (opts.user === undefined || opts.pass === undefined) throw new Error('tinyproxy: user and pass go together');
    lines.push(`BasicAuth ${opts.user} ${opts.pass}`);
  }
  await fsp.writeFile(config, lines.join('\n') + '\n');
  const proc = lab.spawn('proxy', 'tinyproxy', ['-d', '-c', config], { name: `tinyproxy-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, {
    host,
    port,
    ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    log,
    config,
  });
}
