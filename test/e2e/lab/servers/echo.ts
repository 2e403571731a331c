import path from 'node:path';
import { FIXTURES, LAB_ADDR } from '../constants.js';
import type { Lab, LabProcess } from '../types.js';
import { started } from './started.js';

export interface EchoHandle {
  port: number;
  /** 'echo': echoes as it reads; 'eof': buffers until the client's FIN, then writes it all back and closes. */
  mode: 'echo' | 'eof';
  proc: LabProcess;
  stop(): Promise<void>;
}

/** TCP echo server (node, test/e2e/fixtures/echo-server.mjs) in the internet namespace on all addresses. */
export async function startEcho(lab: Lab, opts: { port: number; halfCloseEcho?: boolean; timeoutMs?: number }): Promise<EchoHandle> {
  const mode = opts.halfCloseEcho ? 'eof' : 'echo';
  const proc = lab.spawn('internet', process.execPath, [path.join(FIXTURES, 'echo-server.mjs'), '--port', String(opts.port), '--mode', mode], {
    name: `echo-${mode}-${opts.port}`,
  });
  return started(lab, proc, 'internet', [[LAB_ADDR.internet, opts.port]], opts.timeoutMs ?? 10_000, { port: opts.port, mode });
}
