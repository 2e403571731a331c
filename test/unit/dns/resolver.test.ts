import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Question } from 'dns-packet';
import { pino } from 'pino';
import { DnsCache } from '../../../src/dns/cache.js';
import { Resolver } from '../../../src/dns/resolver.js';
import { singleResolverSet } from '../../../src/dns/split-dns.js';
import type { DnsTransport } from '../../../src/dns/transport.js';
import type { WireAnswer } from '../../../src/dns/wire-answer.js';
import { wireAnswer } from '../../helpers/dns-wire.js';

const log = pino({ level: 'silent' });
const A: Question = { name: 'web.lab.test', type: 'A', class: 'IN' };
const answer = (data: string): WireAnswer => wireAnswer(A, { answers: [{ type: 'A', name: A.name, ttl: 60, data }] });

/** A transport that behaves as told: an answer, an rcode, a thrown error, or silence until the deadline. */
function transport(name: string, behave: () => WireAnswer | Error | 'silent'): DnsTransport & { asked: number } {
  return {
    name,
    asked: 0,
    exchange(_q, signal) {
      this.asked++;
      const outcome = behave();
      if (outcome === 'silent') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('deadline'))));
      return outcome instanceof Error ? Promise.reject(outcome) : new Promise((r) => setTimeout(() => r(outcome), 5));
    },
    close() {},
  };
}

const newCache = () => new DnsCache({ size: 100, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 3600, maxNegativeTtlS: 600 });

test('a failing, a refusing and a silent resolver are skipped: the next one answers', async () => {
  const down = transport('down', () => new Error('connection refused'));
  const refusing = transport('refusing', () => wireAnswer(A, { flags: 5 }));
  const silent = transport('silent', () => 'silent');
  const good = transport('good', () => answer('192.0.2.1'));
  const resolver = new Resolver(singleResolverSet([down, refusing, silent, good]), newCache(), { timeoutMs: 50 }, log);
  assert.deepEqual(await resolver.resolve(A), { wire: answer('192.0.2.1'), ageS: 0 });
  assert.deepEqual([down.asked, refusing.asked, silent.asked, good.asked], [1, 1, 1, 1]);
});

test('SERVFAIL only when every resolver failed; failures are not cached', async () => {
  const down = transport('down', () => new Error('boom'));
  const resolver = new Resolver(singleResolverSet([down, transport('silent', () => 'silent')]), newCache(), { timeoutMs: 20 }, log);
  assert.deepEqual(await resolver.resolve(A), { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [] });
  await resolver.resolve(A);
  assert.equal(down.asked, 2);
});

test('identical questions in flight share one upstream query; the answer is then cached', async () => {
  const good = transport('good', () => answer('192.0.2.1'));
  const resolver = new Resolver(singleResolverSet([good]), newCache(), { timeoutMs: 1000 }, log);
  const results = await Promise.all(Array.from({ length: 100 }, () => resolver.resolve({ ...A, name: 'WEB.lab.test' })));
  assert.equal(new Set(results).size, 1);
  assert.equal(good.asked, 1);
  await resolver.resolve(A);
  assert.equal(good.asked, 1, 'names compare case-insensitively; the second ask hit the cache');
  await resolver.resolve({ ...A, type: 'AAAA' });
  assert.equal(good.asked, 2, 'another type is another question');
});
