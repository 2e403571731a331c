import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { FakeIpPool, PoolEntry } from './fake-ip-pool.js';

/**
 * Version 2. Version 1 (still read) had [name, address] pairs and no times: its mappings count as
 * used at the start, so none is recycled before the grace period has passed once.
 */
interface StateFile {
  readonly version: 2;
  /** Per pool (by CIDR text): [name, address, last used in Unix ms], least recently used first. */
  readonly pools: Record<string, [string, string, number][]>;
}

type Saved = [string, string] | [string, string, number];

function isEntryList(value: unknown, version: 1 | 2): value is Saved[] {
  return (
    Array.isArray(value) &&
    value.every((e) => Array.isArray(e) && e.length === version + 1 && typeof e[0] === 'string' && typeof e[1] === 'string' && (version === 1 || Number.isFinite(e[2])))
  );
}

export interface FakeIpStoreOptions {
  /** Told when a save in the background fails, once per distinct failure. */
  readonly log: Logger;
  /** How long changes gather before a save. */
  readonly delayMs?: number;
  /** Wall-clock milliseconds: the saved times must mean the same to the next process. */
  readonly now?: () => number;
}

/**
 * Keeps the fake-IP mappings across restarts, so connections and caches in applications that
 * outlive the daemon still reach the same names. Saves are coalesced and atomic (temp + rename):
 * a crash leaves the old file or the new one, never half of one.
 */
export class FakeIpStore {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** The last background save failure logged; cleared by a save that works. */
  private failure: string | undefined;
  private readonly delayMs: number;
  private readonly now: () => number;

  constructor(
    private readonly file: string,
    private readonly pools: readonly FakeIpPool[],
    private readonly opts: FakeIpStoreOptions,
  ) {
    this.delayMs = opts.delayMs ?? 200;
    this.now = opts.now ?? Date.now;
  }

  /** Restores what a previous run saved; a missing file is a first start. Returns the mappings read. */
  load(): number {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new Error(`fake-IP state file ${this.file} is unreadable: ${(err as Error).message}`);
    }
    const { version, pools } = (doc ?? {}) as { version?: unknown; pools?: unknown };
    if ((version !== 1 && version !== 2) || typeof pools !== 'object' || pools === null) {
      throw new Error(`fake-IP state file ${this.file} has an unknown format`);
    }
    const now = this.now();
    let count = 0;
    for (const pool of this.pools) {
      const entries = (pools as Record<string, unknown>)[pool.cidr.text];
      if (!isEntryList(entries, version)) continue;
      pool.restore(entries.map(([name, address, usedAt]): PoolEntry => [name, address, usedAt === undefined ? 0 : Math.max(0, now - usedAt)]));
      count += pool.size;
    }
    return count;
  }

  /** Schedules a save soon; many changes in a burst cost one write. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().then(
        () => (this.failure = undefined),
        (err: unknown) => this.failed(err),
      );
    }, this.delayMs);
    this.timer.unref();
  }

  /** Saves now (at shutdown, and after `changed`). Writes never overlap. */
  save(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.now();
    const saved = (p: FakeIpPool) => p.entries().map(([name, address, idleMs]): [string, string, number] => [name, address, Math.round(now - idleMs)]);
    const state: StateFile = { version: 2, pools: Object.fromEntries(this.pools.map((p) => [p.cidr.text, saved(p)])) };
    const next = this.writing.catch(() => {}).then(() => writeAtomically(this.file, JSON.stringify(state)));
    this.writing = next;
    return next;
  }

  /** A full disk or a read-only directory fails every save alike: one warning, not one per save. */
  private failed(err: unknown): void {
    const message = errorMessage(err);
    if (message === this.failure) return;
    this.failure = message;
    this.opts.log.warn({ stateFile: this.file }, `cannot save the fake-IP state (mappings will not survive a restart): ${message}`);
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
