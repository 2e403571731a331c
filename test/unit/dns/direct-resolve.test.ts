import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Question } from 'dns-packet';
import { pino } from 'pino';
import { ErrorCode } from '../../../src/core/errors.js';
import { DnsCache } from '../../../src/dns/cache.js';
import { splitDirectResolve } from '../../../src/dns/direct-resolve.js';
import { Resolver } from '../../../src/dns/resolver.js';
import { DEFAULT_DNS_RULE, type DnsChoice, type ResolverSet, type SplitDns } from '../../../src/dns/split-dns.js';
import type { DnsTransport } from '../../../src/dns/transport.js';
import { wireAnswer } from '../../helpers/dns-wire.js';

const log = pino({ level: 'silent' });

/** A resolver with these records per question type (a CNAME first, as resolvers chain them); counts questions. */
function records(name: string, byType: Partial<Record<'A' | 'AAAA', string>>): DnsTransport & { asked: number } {
  return {
    name,
    asked: 0,
    exchange(question: Question) {
      this.asked++;
      const data = byType[question.type as 'A' | 'AAAA'];
      const answers = data === undefined ? [] : [{ type: 'CNAME' as const, name: question.name, ttl: 60, data: 'target.example' }, { type: question.type as 'A', name: 'target.example', ttl: 60, data }];
      return Promise.resolve(wireAnswer(question, { answers }));
    },
    close() {},
  };
}

const set = (id: number, direct: boolean, transport: DnsTransport): ResolverSet => ({ id, direct, transports: [transport] });

/** Split DNS by suffix: `rules` in order, else set 0. */
function splitBy(sets: readonly ResolverSet[], rules: [suffix: string, resolvers: ResolverSet | 'reject'][]): SplitDns {
  return {
    sets,
    choose(name): DnsChoice {
      const hit = rules.find(([suffix]) => name === suffix || name.endsWith(`.${suffix}`));
      return hit ? { resolvers: hit[1], rule: `domain_suffix=[${hit[0]}]` } : { resolvers: sets[0], rule: DEFAULT_DNS_RULE };
    },
  };
}

function setup(withDirectRule = true) {
  const proxied = records('tcp://9.9.9.9:53', { A: '203.0.113.1' });
  const corp = records('udp://192.0.2.53:53', { A: '192.0.2.80' });
  const lab = records('udp://192.0.2.54:53', { AAAA: '2001:db8::80' });
  const viaDante = records('tcp://198.51.100.53:53', { A: '198.51.100.80' });
  const sets = [set(0, false, proxied), ...(withDirectRule ? [set(1, true, corp), set(2, true, lab)] : []), set(3, false, viaDante)];
  const split = splitBy(sets, [['corp.example', sets[1]], ['lab.example', sets[2]], ['video.example', sets.at(-1)!], ['ads.example', 'reject']]);
  const resolver = new Resolver(split, new DnsCache({ size: 100, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 3600, maxNegativeTtlS: 600 }), { timeoutMs: 1000 }, log);
  const system: string[] = [];
  const fallback = async (host: string) => (system.push(host), host === 'fake.example' ? '198.18.0.9' : '203.0.113.99');
  const resolve = splitDirectResolve(resolver, split, { fallback, isFakeAddress: (a) => a.startsWith('198.18.') });
  return { resolve, resolver, system, proxied, corp, lab, viaDante };
}

test('a name whose rule is via direct is resolved by that rule\'s resolvers, through the cache', async () => {
  const { resolve, resolver, corp, proxied } = setup();
  assert.equal(await resolve('git.corp.example'), '192.0.2.80', 'the A record at the end of the CNAME chain');
  assert.equal(await resolve('git.corp.example'), '192.0.2.80');
  assert.equal(corp.asked, 1, 'the second lookup was a cache hit');
  assert.equal(resolver.cacheHits, 1);
  assert.equal(proxied.asked, 0);
});

test('no A record: the AAAA one', async () => {
  const { resolve, lab } = setup();
  assert.equal(await resolve('host.lab.example'), '2001:db8::80');
  assert.equal(lab.asked, 2);
});

test('a name whose rule is not direct is resolved by the first direct rule\'s resolvers, never through the proxy', async () => {
  const { resolve, corp, proxied, viaDante, system } = setup();
  assert.equal(await resolve('web.example'), '192.0.2.80');
  assert.equal(await resolve('cdn.video.example'), '192.0.2.80');
  assert.deepEqual([corp.asked, proxied.asked, viaDante.asked, system.length], [2, 0, 0, 0]);
});

test('without a direct rule: the system resolver; a fake-IP answer from it (our own listener) is an error', async () => {
  const { resolve, system, proxied } = setup(false);
  assert.equal(await resolve('web.example'), '203.0.113.99');
  await assert.rejects(resolve('fake.example'), (err: Error & { code?: string }) => err.code === ErrorCode.DNS_UPSTREAM_FAILED && /fake-IP address 198\.18\.0\.9.*via: direct/.test(err.message));
  assert.deepEqual(system, ['web.example', 'fake.example']);
  assert.equal(proxied.asked, 0);
});

test('a name dns.rules reject is not resolved; a name without an address is an error', async () => {
  const { resolve, system } = setup();
  await assert.rejects(resolve('x.ads.example'), (err: Error & { code?: string }) => err.code === ErrorCode.REJECTED && /x\.ads\.example is rejected by dns\.rules \(domain_suffix=\[ads\.example\]\)/.test(err.message));
  assert.equal(system.length, 0);
});

test('a direct resolver without an A or AAAA record for the name: an error naming it', async () => {
  const none = set(1, true, records('udp://192.0.2.55:53', {}));
  const split = splitBy([set(0, false, records('tcp://9.9.9.9:53', { A: '203.0.113.1' })), none], [['void.example', none]]);
  const resolver = new Resolver(split, new DnsCache({ size: 10, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 60, maxNegativeTtlS: 60 }), { timeoutMs: 1000 }, log);
  const resolve = splitDirectResolve(resolver, split, { fallback: () => Promise.reject(new Error('not asked')) });
  await assert.rejects(resolve('a.void.example'), (err: Error & { code?: string }) => err.code === ErrorCode.DNS_UPSTREAM_FAILED && /\(udp:\/\/192\.0\.2\.55:53\) have no address for a\.void\.example/.test(err.message));
});
