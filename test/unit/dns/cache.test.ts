import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Question } from 'dns-packet';
import { cacheTtl, DnsCache, type CacheLimits } from '../../../src/dns/cache.js';
import { compressedAResponse, wireAnswer } from '../../helpers/dns-wire.js';
import { readWireAnswer } from '../../../src/dns/wire-answer.js';

const limits: CacheLimits = { size: 2, maxBytes: 1 << 20, minTtlS: 5, maxTtlS: 3600, maxNegativeTtlS: 600 };
const Q: Question = { name: 'a.test', type: 'A', class: 'IN' };
const soa = (ttl: number, minimum: number) => ({
  type: 'SOA' as const,
  name: 'test',
  ttl,
  data: { mname: 'ns.test', rname: 'admin.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});
const positive = (ttls: number[]) => wireAnswer(Q, { answers: ttls.map((ttl, i) => ({ type: 'A', name: Q.name, ttl, data: `192.0.2.${i}` })) });
const NXDOMAIN = 3;
const SERVFAIL = 2;

test('positive answers live as long as their shortest TTL, clamped', () => {
  assert.equal(cacheTtl(positive([300, 60]), limits), 60);
  assert.equal(cacheTtl(positive([0]), limits), 5);
  assert.equal(cacheTtl(positive([86_400]), limits), 3600);
});

test('negative answers live as long as the SOA says (min of its TTL and MINIMUM), capped; failures never', () => {
  assert.equal(cacheTtl(wireAnswer(Q, { flags: NXDOMAIN, authorities: [soa(900, 120)] }), limits), 120);
  assert.equal(cacheTtl(wireAnswer(Q, { authorities: [soa(30, 7200)] }), limits), 30);
  assert.equal(cacheTtl(wireAnswer(Q, { flags: NXDOMAIN, authorities: [soa(86_400, 86_400)] }), limits), 600);
  assert.equal(cacheTtl(wireAnswer(Q, { flags: NXDOMAIN }), limits), undefined, 'no SOA: not cached');
  assert.equal(cacheTtl(wireAnswer(Q, { flags: SERVFAIL, authorities: [soa(60, 60)] }), limits), undefined);
});

test('entries expire, are handed out with their age, and the least recently used goes first', () => {
  let now = 1_000_000;
  const cache = new DnsCache(limits, () => now);
  const answer = positive([60]);
  cache.set('a', answer);
  now += 10_500;
  assert.deepEqual(cache.get('a'), { wire: answer, ageS: 10 });
  now += 50_000;
  assert.equal(cache.get('a'), undefined, 'expired');
  assert.equal(cache.bytes, 0);

  cache.set('a', positive([60]));
  cache.set('b', positive([60]));
  cache.get('a');
  cache.set('c', positive([60]));
  assert.equal(cache.size, 2);
  assert.ok(cache.get('a') && cache.get('c'));
  assert.equal(cache.get('b'), undefined, 'b was least recently used');
});

test('the cache holds at most maxBytes; an answer above a 16th of it is not cached', () => {
  const big = readWireAnswer(compressedAResponse(0, 'big.test', 1000)); // ~16 KB
  const small = (n: number) => readWireAnswer(compressedAResponse(0, `s${n}.test`, 20));
  const cache = new DnsCache({ ...limits, size: 100_000, maxBytes: 256 * 1024 });
  cache.set('big', big);
  assert.equal(cache.get('big'), undefined, 'larger than 16 KiB: served, not cached');
  for (let i = 0; i < 5000; i++) cache.set(`s${i}`, small(i));
  assert.ok(cache.bytes <= 256 * 1024, `${cache.bytes} bytes held`);
  assert.ok(cache.size > 100 && cache.size < 5000, `${cache.size} entries`);
  assert.ok(cache.get('s4999') && !cache.get('s0'), 'the oldest went first');

  const roomy = new DnsCache({ ...limits, maxBytes: 1 << 20 });
  roomy.set('big', big);
  roomy.set('big', big);
  assert.equal(roomy.size, 1);
  assert.ok(roomy.bytes > big.message.length && roomy.bytes < 2 * big.message.length, 'a replaced entry is counted once');
});
