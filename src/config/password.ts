import { readFileSync } from 'node:fs';

/** A problem with one entry (an upstream, a user); `key` is the sub-key it concerns (joined to the path by the caller). */
export class KeyedIssue extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** The one password of `entry` (inline, file with one trailing newline trimmed, or environment); throws an issue naming its key. */
export function readPassword(entry: { password?: string; password_file?: string; password_env?: string }, env: NodeJS.ProcessEnv) {
  const sources = (['password', 'password_file', 'password_env'] as const).filter((k) => entry[k] !== undefined);
  if (sources.length > 1) throw new KeyedIssue(sources[1], `give only one of ${sources.join(', ')}`);
  if (entry.password_file !== undefined) {
    try {
      return readFileSync(entry.password_file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new KeyedIssue('password_file', `cannot read ${entry.password_file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (entry.password_env !== undefined) {
    const value = env[entry.password_env];
    if (value === undefined) throw new KeyedIssue('password_env', `environment variable ${entry.password_env} is not set`);
    return value;
  }
  return entry.password;
}
