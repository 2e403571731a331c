// CidrSet (src/route/match/cidr-set.ts): the destination and source prefixes of route rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrSet } from '../../../src/route/match/cidr-set.js';

test('/0 holds every address of its family and none of the other', () => {
  const v4 = CidrSet.of(['0.0.0.0/0']);
  assert.ok(v4.has('0.0.0.0') && v4.has('255.255.255.255') && v4.has('::ffff:203.0.113.9'));
  assert.ok(!v4.has('2001:db8::1'));
  const v6 = CidrSet.of(['::/0']);
  assert.ok(v6.has('::') && v6.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff') && v6.has('2001:db8::1'));
  // An IPv4-mapped address is an IPv4 flow: IPv6 prefixes outside ::ffff:0:0/96 never hold it.
  assert.ok(!v6.has('192.0.2.1') && !v6.has('::ffff:192.0.2.1'));
});

test('/32 and /128 (or no length) hold exactly one address', () => {
  const set = CidrSet.of(['192.0.2.7/32', '198.51.100.9', '2001:db8::7/128', '2001:db8::9']);
  assert.ok(set.has('192.0.2.7') && set.has('198.51.100.9') && set.has('2001:db8::7') && set.has('2001:db8::9'));
  for (const miss of ['192.0.2.6', '192.0.2.8', '198.51.100.8', '2001:db8::6', '2001:db8::8', '2001:db8::a']) assert.ok(!set.has(miss), miss);
});

test('range edges: the first and last address in, their neighbours out', () => {
  const set = CidrSet.of(['198.51.100.0/24', '2001:db8:1::/48']);
  assert.ok(set.has('198.51.100.0') && set.has('198.51.100.255'));
  assert.ok(!set.has('198.51.99.255') && !set.has('198.51.101.0'));
  assert.ok(set.has('2001:db8:1::') && set.has('2001:db8:1:ffff:ffff:ffff:ffff:ffff'));
  assert.ok(!set.has('2001:db8:0:ffff:ffff:ffff:ffff:ffff') && !set.has('2001:db8:2::'));
});

test('overlapping and adjacent prefixes merge into one range each', () => {
  assert.equal(CidrSet.of(['192.0.2.0/25', '192.0.2.128/25']).ranges, 1);
  assert.equal(CidrSet.of(['192.0.2.0/24', '192.0.2.64/26', '192.0.2.200']).ranges, 1);
  assert.equal(CidrSet.of(['2001:db8::/33', '2001:db8:8000::/33', '2001:db8:1::/48']).ranges, 1);
  assert.equal(CidrSet.of(['192.0.2.0/24', '203.0.113.0/24']).ranges, 2);
});

test('v4-mapped: flows and prefixes in ::ffff:0:0/96, however written, are IPv4', () => {
  const set = CidrSet.of(['::ffff:192.0.2.0/120', '0:0:0:0:0:ffff:c633:6400/120']);
  for (const hit of ['192.0.2.1', '::ffff:192.0.2.1', '::FFFF:c000:201', '0:0:0:0:0:ffff:192.0.2.1', '0000:0000:0000:0000:0000:ffff:c000:0201', '198.51.100.77']) assert.ok(set.has(hit), hit);
  assert.ok(!set.has('192.0.3.1') && !set.has('::ffff:192.0.3.1'));
  // An IPv4 prefix holds the mapped form of its addresses.
  assert.ok(CidrSet.of(['203.0.113.0/24']).has('0:0:0:0:0:ffff:203.0.113.5'));
});

test('an embedded IPv4 tail outside the mapped range is plain IPv6 (NAT64)', () => {
  const set = CidrSet.of(['64:ff9b::192.0.2.0/120']);
  assert.ok(set.has('64:ff9b::c000:201') && set.has('64:ff9b::192.0.2.255'));
  assert.ok(!set.has('192.0.2.1') && !set.has('64:ff9b::c000:301'));
});

test('anything but an IP literal never matches', () => {
  const set = CidrSet.of(['0.0.0.0/0', '::/0']);
  for (const host of ['example.com', '', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', 'fe80::1%eth0', ':::', 'g::1']) assert.ok(!set.has(host), host);
});

test('bad entries throw a RangeError naming the entry', () => {
  for (const [text, why] of [
    ['192.0.2.0/33', /IPv4 prefix length must be 0-32/],
    ['2001:db8::/129', /IPv6 prefix length must be 0-128/],
    ['192.0.2.0/', /must be a number/],
    ['192.0.2.0/x', /must be a number/],
    ['example.com', /expected an IPv4 or IPv6 address/],
    ['fe80::1%eth0/64', /no zone/],
    ['010.0.0.1', /expected an IPv4 or IPv6 address/],
  ] as const) {
    assert.throws(() => CidrSet.of([text]), (err: Error) => err instanceof RangeError && err.message.includes(`"${text}"`) && why.test(err.message), text);
  }
});
