import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';

/** One entry of a list file, with where it stands for error messages. */
export interface ListEntry {
  readonly text: string;
  readonly line: number;
}

/** A bad list: `file:line: message`, or `file: message` when the file cannot be read. */
export class ListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListError';
  }
}

/** The entries of a list file: one a line; blank lines and `#` comments (whole-line or trailing) skipped. */
export function readList(file: string): ListEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ListError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const entries: ListEntry[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const hash = raw.indexOf('#');
    const entry = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (entry !== '') entries.push({ text: entry, line });
  }
  return entries;
}

/** Runs `add` on every entry; a RangeError becomes `file:line: message`. */
export function addEach(file: string, entries: readonly ListEntry[], add: (text: string) => void): void {
  for (const { text, line } of entries) {
    try {
      add(text);
    } catch (err) {
      throw new ListError(`${file}:${line}: ${(err as Error).message}`);
    }
  }
}

/** Reads `file` and runs `add` on every entry; returns how many. A bad list is a ConfigError at `configPath`, naming `file:line`. */
export function addListFile(file: string, configPath: string, add: (text: string) => void): number {
  try {
    const entries = readList(file);
    addEach(file, entries, add);
    return entries.length;
  } catch (err) {
    if (err instanceof ListError) throw new ConfigError([{ path: configPath, message: err.message }]);
    throw err;
  }
}
