/** What run.ts and the figure files share: where output goes, this run's labs, logs and retries. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../test/e2e/lab.js';
import type { Results } from './results.js';
import { say } from './util.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OUT = path.join(REPO, 'bench-out');

/** What a figure needs of the command line. */
export interface FigureOptions {
  quick: boolean;
  runs: number;
}

/** Other work on the machine (other engineers' e2e labs, builds) skews every figure: say so. */
export function machineActivity(): string {
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const foreign = (r.stdout ?? '').split('\n').filter((l) => l.trim() && !live.has(l.trim().split(/\s+/)[0]!.replace(/-[a-z]$/, ''))).length;
  return `load average ${load}, ${foreign} network namespace(s) not made by this run`;
}
/** Lab ids of this run, so machineActivity() can tell our namespaces from others'. */
export const live = new Set<string>();

/** Keep the socksifiers' logs (warn level: failures only) in bench-out/logs/<lab>/ before the lab goes. */
export function saveLogs(lab: Lab): void {
  const dest = path.join(OUT, 'logs', lab.id);
  try {
    for (const f of fs.readdirSync(lab.dir)) {
      if (!/^(socksgate|redsocks|ipt2socks|hev|delay-line|bench-danted).*\.log$/.test(f)) continue;
      fs.mkdirSync(dest, { recursive: true });
      fs.copyFileSync(path.join(lab.dir, f), path.join(dest, f));
    }
  } catch {
    /* best effort */
  }
}

/** One retry for a measurement that failed (a reset under load, say); the first error is kept in the notes. */
export async function retryOnce<T>(r: Results, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    say(`${what} failed (${msg}); retrying once`);
    try {
      const v = await fn();
      r.notes.push(`${what}: failed once (${msg}); the retry succeeded`);
      return v;
    } catch (e2) {
      r.notes.push(`${what}: FAILED twice (${msg} / ${(e2 as Error).message.split('\n')[0]}); no sample`);
      return undefined;
    }
  }
}
