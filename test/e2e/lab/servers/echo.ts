import path from 'node:path';
import { FIXTURES, LAB_ADDR } from '../constants.js';
import type { Lab, LabProcess, NsRole } from '../types.js';
import { started } from './started.js';

export interface EchoHandle {
  port: number;
  /** 'echo': echoes as it reads; 'eof': buffers until the client's FIN, then writes it all back and closes. */
  mode: 'echo' | 'eof';
  proc: LabProcess;
  stop(): Promise<void>;
}

/**
 * TCP echo server (node, test/e2e/fixtures/echo-server.mjs) on all addresses of the internet
 * namespace, or of `ns` (waited for on `host`, which must be one of its addresses).
 */
export async function startEcho(lab: Lab, opts: { port: number; halfCloseEcho?: boolean; timeoutMs?: number; ns?: NsRole; host?: string }): Promise<EchoHandle> {
  const mode = opts.halfCloseEcho ? 'eof' : 'echo';
  const ns = opts.ns ?? 'internet';
  const proc = lab.spawn(ns, process.execPath, [path.join(FIXTURES, 'echo-server.mjs'), '--port', String(opts.port), '--mode', mode], {
    name: `echo-${mode}-${opts.port}`,
  });
  return started(lab, proc, ns, [[opts.host ?? LAB_ADDR.internet, opts.port]], opts.timeoutMs ?? 10_000, { port: opts.port, mode });
}
