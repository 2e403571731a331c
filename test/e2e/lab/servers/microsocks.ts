import { LAB_ADDR } from '../constants.js';
import type { Lab } from '../types.js';
import { started, type SocksHandle } from './started.js';

/** microsocks in the proxy namespace on 192.0.2.1:<port> (or `listen`), optional user/pass. */
export async function startMicrosocks(lab: Lab, opts: { port?: number; user?: string; pass?: string; listen?: string; timeoutMs?: number } = {}): Promise<SocksHandle> {
  const port = opts.port ?? 1081;
  const host = opts.listen ?? LAB_ADDR.proxyClientSide;
  const args = ['-i', host, '-p', String(port)];
  if (opts.user !== undefined || opts.pass !== undefined) {
    if (opts.user === undefined || opts.pass === undefined) throw new Error('microsocks: user and pass go together');
    args.push('-u', opts.user, '-P', opts.pass);
  }
  const proc = lab.spawn('proxy', 'microsocks', args, { name: `microsocks-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, {
    host,
    port,
    ...(opts.user !== undefined ? { user: opts.user, pass: opts.pass } : {}),
    log: proc.logPath,
  });
}
