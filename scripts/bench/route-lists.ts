/**
 * Big random route lists for the benchmarks: CIDRS prefixes (half IPv4, half IPv6, lengths as in
 * real country and ASN lists) and DOMAINS names (mostly suffixes, a tenth `full:`), from a fixed
 * seed so every run has the same. No prefix touches loopback, the documentation ranges the labs
 * use, or the fake-IP range: a flow of the bench never matches them by accident. Nothing is ever
 * sent to these addresses; they only fill sets.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RouteLists {
  readonly prefixes: readonly string[];
  readonly names: readonly string[];
  readonly cidrFile: string;
  readonly domainFile: string;
}

/** xorshift32 with a fixed seed: the same "random" numbers on every run. */
export function seededRandom(seed = 0x2545f491): { random32(): number; pick(n: number): number } {
  const random32 = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  return { random32, pick: (n) => random32() % n };
}

export const v4Text = (word: number) => `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
export const v6Text = (groups: readonly number[]) => groups.map((g) => g.toString(16)).join(':');
export const TLDS = ['com', 'net', 'org', 'example', 'test', 'io'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** First octets of loopback, 192.0.2/24, 198.18/15, 198.51.100/24 and 203.0.113/24: never listed. */
const KEEP_OUT_V4 = new Set([127, 192, 198, 203]);

export function randomGen(seed?: number) {
  const { random32, pick } = seededRandom(seed);
  /** In 2000::/3, where global unicast addresses are, outside 2001::/16 (2001:db8::/32 is the labs'). */
  const randomV6 = () => [0x2002 + pick(0x1ffe), pick(65536), pick(65536), pick(65536), pick(65536), pick(65536), pick(65536), pick(65536)];
  const randomV4 = () => {
    for (;;) {
      const word = random32();
      if (!KEEP_OUT_V4.has(word >>> 24)) return word;
    }
  };
  const label = () => Array.from({ length: 3 + pick(10) }, () => LETTERS[pick(LETTERS.length)]).join('');
  return { random32, pick, randomV4, randomV6, label };
}

/** Writes `cidrs` prefixes and `domains` names into list files in `dir`. */
export function writeRouteLists(dir: string, cidrs: number, domains: number): RouteLists {
  const { pick, randomV4, randomV6, label } = randomGen();
  const prefixes: string[] = [];
  for (let i = 0; i < cidrs; i++) {
    if (i % 2 === 0) prefixes.push(`${v4Text(randomV4())}/${16 + pick(9)}`);
    else prefixes.push(`${v6Text(randomV6())}/${32 + pick(17)}`);
  }
  const names: string[] = [];
  for (let i = 0; i < domains; i++) names.push(`${Array.from({ length: 1 + pick(2) }, label).join('.')}.${TLDS[pick(TLDS.length)]}`);
  const cidrFile = join(dir, 'direct-nets.txt');
  const domainFile = join(dir, 'block.txt');
  writeFileSync(cidrFile, `# ${cidrs} random prefixes\n${prefixes.join('\n')}\n`);
  // Mostly bare names (suffixes), some exact ones, as blocklists are.
  writeFileSync(domainFile, `# ${domains} random names\n${names.map((n, i) => (i % 10 === 0 ? `full:${n}` : n)).join('\n')}\n`);
  return { prefixes, names, cidrFile, domainFile };
}
