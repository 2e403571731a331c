import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';

/** A bad list: `file:line: message`, or `file: message` when the file cannot be read. */
export class ListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListError';
  }
}

/**
 * Hands `add` each entry of a list file, one a line (blank lines and `#` comments, whole-line or
 * trailing, skipped), and returns how many there were; a RangeError from `add` becomes
 * `file:line: message`. Line by line out of the one string read: no array of 100,000 lines.
 */
export function addList(file: string, add: (text: string) => void): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ListError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let entries = 0;
  let line = 0;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    line++;
    const raw = text.slice(start, end);
    const hash = raw.indexOf('#');
    const entry = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    start = end + 1;
    if (entry === '') continue;
    try {
      add(entry);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new ListError(`${file}:${line}: ${err.message}`);
    }
    entries++;
  }
  return entries;
}

/** Reads `file` and runs `add` on every entry; returns how many. A bad list is a ConfigError at `configPath`, naming `file:line`. */
export function addListFile(file: string, configPath: string, add: (text: string) => void): number {
  try {
    return addList(file, add);
  } catch (err) {
    if (err instanceof ListError) throw new ConfigError([{ path: configPath, message: err.message }]);
    throw err;
  }
}
