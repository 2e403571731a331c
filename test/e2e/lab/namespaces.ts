/** The lab's namespace names (`sg-<id>-{c,p,i}`), its temp dir, and their teardown. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { procStartTime } from './process.js';
import { live } from './registry.js';
import type { NsRole } from './types.js';

/** c/p/i: the lab's own namespaces; l: a LAN namespace a test adds behind the client (test/e2e/rules-lab.ts). */
export const NAME_RE = /^sg-([a-z0-9]{6})-([cpil])$/;

export function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(6);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

export function labDirFor(id: string): string {
  return path.join(os.tmpdir(), `sglab-${id}`);
}

export function nsNames(id: string): Record<NsRole, string> {
  return { client: `sg-${id}-c`, proxy: `sg-${id}-p`, internet: `sg-${id}-i` };
}

export function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Synchronous teardown of namespaces + files; used by destroy fallbacks, the exit hook and the sweeper. */
export function teardownSync(names: readonly string[], dir: string | null): void {
  for (const ns of names) {
    const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    if (r.status === 0) {
      for (const p of r.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }
  for (const ns of names) {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    try {
      fs.rmSync(path.join('/etc/netns', ns), { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
  if (dir) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
}

/**
 * Remove labs (namespaces named sg-XXXXXX-{c,p,i}) whose owner process is dead, e.g. after a
 * SIGKILLed test run. Labs without an owner file are left alone. Returns the ids removed.
 */
export function sweepStaleLabs(): string[] {
  const byId = new Map<string, string[]>();
  for (const name of listNetns()) {
    const m = NAME_RE.exec(name);
    if (!m) continue;
    const list = byId.get(m[1]!) ?? [];
    list.push(name);
    byId.set(m[1]!, list);
  }
  const removed: string[] = [];
  for (const [id, names] of byId) {
    if (live.has(id)) continue;
    const dir = labDirFor(id);
    let owner: { pid: number; start: string } | null = null;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // not ours to judge
    }
    if (!owner || typeof owner.pid !== 'number') continue;
    const start = procStartTime(owner.pid);
    if (start !== null && start === owner.start) continue; // owner alive
    teardownSync(names, dir);
    removed.push(id);
  }
  return removed;
}
