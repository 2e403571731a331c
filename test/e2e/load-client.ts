/** Drives test/e2e/fixtures/load-client.mjs, the many-connection client of the load test, in a lab namespace. */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FIXTURES } from './lab/constants.js';
import type { Lab, LabProcess, NsRef } from './lab.js';

export type LoadCommand = { op: 'hold'; count: number; opening: number } | { op: 'release' } | { op: 'sequential'; count: number; lanes: number };

/** What the client answers: connections verified end to end, the failed ones and the first few reasons. */
export interface Tally {
  op: string;
  ok: number;
  failed: number;
  errors: string[];
  ms: number;
}

export interface LoadClient {
  readonly proc: LabProcess;
  /** Runs one command; rejects if the client dies or `deadline` (epoch ms) passes first. */
  run(command: LoadCommand, deadline: number): Promise<Tally>;
}

/** Starts the client in `ns`, aimed at host:port (an echo server), and waits until it reads commands. */
export async function startLoadClient(lab: Lab, ns: NsRef, target: { host: string; port: number }, deadline: number): Promise<LoadClient> {
  const proc = lab.spawn(ns, process.execPath, [path.join(FIXTURES, 'load-client.mjs'), '--host', target.host, '--port', String(target.port)], {
    name: 'load-client',
    stdin: 'pipe',
  });
  const answers: Tally[] = [];
  let wake = () => {};
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    answers.push(JSON.parse(line) as Tally);
    wake();
  });
  proc.on('exit', () => wake());

  async function answer(op: string, until: number): Promise<Tally> {
    for (;;) {
      const i = answers.findIndex((a) => a.op === op);
      if (i >= 0) return answers.splice(i, 1)[0]!;
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`load client exited during ${op}:\n${proc.output()}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`deadline passed while the load client ran ${op}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  await answer('ready', deadline);
  return {
    proc,
    run(command, until) {
      proc.stdin!.write(JSON.stringify(command) + '\n');
      return answer(command.op, until);
    },
  };
}
