import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheTtl, DnsCache, type CacheLimits } from '../../../src/dns/cache.js';
import type { DnsResult } from '../../../src/dns/message.js';

const limits: CacheLimits = { size: 2, minTtlS: 5, maxTtlS: 3600, maxNegativeTtlS: 600 };
const soa = (ttl: number, minimum: number) => ({
  type: 'SOA',
  name: 'test',
  ttl,
  data: { mname: 'ns.test', rname: 'admin.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum },
});
const positive = (ttls: number[]): DnsResult => ({
  rcode: 'NOERROR',
  answers: ttls.map((ttl, i) => ({ type: 'A', name: 'a.test', ttl, data: `192.0.2.${i}` })),
  authorities: [],
  additionals: [],
});

test('positive answers live as long as their shortest TTL, clamped', () => {
  assert.equal(cacheTtl(positive([300, 60]), limits), 60);
  assert.equal(cacheTtl(positive([0]), limits), 5);
  assert.equal(cacheTtl(positive([86_400]), limits), 3600);
});

test('negative answers live as long as the SOA says (min of its TTL and MINIMUM), capped; failures never', () => {
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [soa(900, 120)], additionals: [] }, limits), 120);
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [], authorities: [soa(30, 7200)], additionals: [] }, limits), 30);
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [soa(86_400, 86_400)], additionals: [] }, limits), 600);
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [], additionals: [] }, limits), undefined, 'no SOA: not cached');
  assert.equal(cacheTtl({ rcode: 'SERVFAIL', answers: [], authorities: [soa(60, 60)], additionals: [] }, limits), undefined);
});

test('entries expire, hand out TTLs counted down, and the least recently used goes first', () => {
  let now = 1_000_000;
  const cache = new DnsCache(limits, () => now);
  cache.set('a', positive([60]));
  now += 10_500;
  assert.equal((cache.get('a')!.answers[0] as { ttl: number }).ttl, 50);
  now += 50_000;
  assert.equal(cache.get('a'), undefined, 'expired');

  cache.set('a', positive([60]));
  cache.set('b', positive([60]));
  cache.get('a');
  cache.set('c', positive([60]));
  assert.equal(cache.size, 2);
  assert.ok(cache.get('a') && cache.get('c'));
  assert.equal(cache.get('b'), undefined, 'b was least recently used');
});
