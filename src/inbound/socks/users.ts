import { createHash, timingSafeEqual } from 'node:crypto';
import type { SocksUser } from '../../config/socks-inbound.js';

function digest(password: string): Buffer {
  return createHash('sha256').update(password, 'utf8').digest();
}

/**
 * Compared against when the name is unknown, so an unknown name costs the same time as a wrong
 * password. Made at the first check, not at load: a daemon without logins never loads node:crypto.
 */
let nobody: Buffer | undefined;

/**
 * The logins of a proxy listener. Passwords are kept only as SHA-256 digests and compared with
 * timingSafeEqual over equal-length digests: the time a check takes says nothing about how much
 * of a guess was right.
 */
export class SocksUsers {
  private readonly digests: ReadonlyMap<string, Buffer>;

  constructor(users: readonly SocksUser[]) {
    this.digests = new Map(users.map((u) => [u.name, digest(u.password)]));
  }

  /** Whether clients must log in. */
  get required(): boolean {
    return this.digests.size > 0;
  }

  /** Whether `name` is a user whose password is `password`. */
  check(name: string, password: string): boolean {
    const want = this.digests.get(name);
    const same = timingSafeEqual(digest(password), want ?? (nobody ??= digest('')));
    return same && want !== undefined;
  }
}
