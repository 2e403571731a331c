import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FakeIpPool } from './fake-ip-pool.js';

interface StateFile {
  readonly version: 1;
  /** Per pool (by CIDR text): [name, address] pairs, least recently used first. */
  readonly pools: Record<string, [string, string][]>;
}

function isPairList(value: unknown): value is [string, string][] {
  return Array.isArray(value) && value.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string');
}

/**
 * Keeps the fake-IP mappings across restarts, so connections and caches in applications that
 * outlive the daemon still reach the same names. Saves are coalesced and atomic (temp + rename):
 * a crash leaves the old file or the new one, never half of one.
 */
export class FakeIpStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly pools: readonly FakeIpPool[],
    private readonly delayMs = 200,
  ) {}

  /** Restores what a previous run saved; a missing file is a first start. Returns the mappings read. */
  load(): number {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`fake-IP state file ${this.file} is unreadable: ${(err as Error).message}`);
    }
    const pools = (doc as Partial<StateFile> | null)?.pools;
    if ((doc as Partial<StateFile> | null)?.version !== 1 || typeof pools !== 'object' || pools === null) {
      throw new Error(`fake-IP state file ${this.file} has an unknown format`);
    }
    let count = 0;
    for (const pool of this.pools) {
      const entries = (pools as Record<string, unknown>)[pool.cidr.text];
      if (!isPairList(entries)) continue;
      pool.restore(entries);
      count += pool.size;
    }
    return count;
  }

  /** Schedules a save soon; many changes in a burst cost one write. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save().catch(() => {});
    }, this.delayMs);
    this.timer.unref();
  }

  /** Saves now (at shutdown, and after `changed`). Writes never overlap. */
  save(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const state: StateFile = { version: 1, pools: Object.fromEntries(this.pools.map((p) => [p.cidr.text, p.entries()])) };
    const next = this.writing.catch(() => {}).then(() => writeAtomically(this.file, JSON.stringify(state)));
    this.writing = next;
    return next;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
