import fsp from 'node:fs/promises';
import path from 'node:path';
import { LAB_ADDR } from '../constants.js';
import type { Lab } from '../types.js';
import { started, type SocksHandle } from './started.js';

/**
 * v2ray's SOCKS inbound (no auth, UDP on) in the proxy namespace, with a freedom outbound. It
 * announces `ip` as its UDP relay address and answers a CONNECT with success before dialing.
 */
export async function startV2ray(lab: Lab, opts: { port?: number; timeoutMs?: number } = {}): Promise<SocksHandle & { config: string }> {
  const port = opts.port ?? 1083;
  const host = LAB_ADDR.proxyClientSide;
  const config = path.join(lab.dir, `v2ray-${port}.json`);
  const inbound = { listen: host, port, protocol: 'socks', settings: { auth: 'noauth', udp: true, ip: host } };
  await fsp.writeFile(config, JSON.stringify({ log: { loglevel: 'warning' }, inbounds: [inbound], outbounds: [{ protocol: 'freedom' }] }));
  const proc = lab.spawn('proxy', 'v2ray', ['-config', config], { name: `v2ray-${port}` });
  return started(lab, proc, 'proxy', [[host, port]], opts.timeoutMs ?? 10_000, { host, port, log: proc.logPath, config });
}
