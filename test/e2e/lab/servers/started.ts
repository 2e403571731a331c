import type { Lab, LabProcess, NsRef } from '../types.js';

/** Waits until `proc` listens on every endpoint (killing it if it does not), then adds proc and stop() to `handle`. */
export async function started<T extends object>(lab: Lab, proc: LabProcess, ns: NsRef, endpoints: [string, number][], timeoutMs: number, handle: T): Promise<T & { proc: LabProcess; stop(): Promise<void> }> {
  try {
    for (const [host, port] of endpoints) await lab.waitForPort(ns, host, port, timeoutMs, proc);
  } catch (e) {
    await lab.kill(proc, 500);
    throw e;
  }
  return Object.assign(handle, { proc, stop: () => lab.kill(proc) });
}

export interface SocksHandle {
  /** Listening address (client side of the proxy namespace) and port. */
  host: string;
  host6?: string;
  port: number;
  user?: string;
  pass?: string;
  proc: LabProcess;
  /** Server log (where the server writes one; else its stdout/stderr log). */
  log: string;
  stop(): Promise<void>;
}
