import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { FakeNames } from '../../../src/relay/udp-fake-names.js';

const v4 = (host: string, port: number): SocksAddr => ({ kind: 'ipv4', host, port });
const show = (a: SocksAddr | undefined) => (a === undefined ? 'drop' : `${a.kind === 'domain' ? 'name:' : ''}${a.host}:${a.port}`);

/**
 * 198.18.0.N stands for nN.test; 198.18.0.200 has no name; anything else is a real address.
 * `holds` counts the live holds per pool address.
 */
function names() {
  let calls = 0;
  const holds = new Map<string, number>();
  const fake = new FakeNames({
    mapDestination: (dst) => {
      calls++;
      if (!dst.host.startsWith('198.18.')) return dst;
      const n = Number(dst.host.split('.')[3]);
      return n === 200 ? undefined : { kind: 'domain', host: `n${n}.test`, port: dst.port };
    },
    hold: (address) => {
      if (address === '198.18.0.200') return false;
      holds.set(address, (holds.get(address) ?? 0) + 1);
      return true;
    },
    release: (address) => {
      const left = holds.get(address)! - 1;
      if (left === 0) holds.delete(address);
      else holds.set(address, left);
    },
  });
  return { fake, calls: () => calls, holds };
}

test('fake-names: pool addresses become names, real ones pass, unmapped ones drop; the mapper is asked once per remote', () => {
  const { fake, calls } = names();
  assert.equal(show(fake.outbound(v4('198.18.0.1', 53))), 'name:n1.test:53');
  assert.equal(show(fake.outbound(v4('198.18.0.1', 53))), 'name:n1.test:53');
  assert.equal(show(fake.outbound(v4('198.18.0.1', 443))), 'name:n1.test:443');
  assert.equal(show(fake.outbound(v4('203.0.113.1', 53))), '203.0.113.1:53');
  assert.equal(show(fake.outbound(v4('203.0.113.1', 53))), '203.0.113.1:53');
  assert.equal(show(fake.outbound(v4('198.18.0.200', 53))), 'drop');
  assert.equal(show(fake.outbound(v4('198.18.0.200', 53))), 'drop', 'an unmapped address is asked again: it may have a name later');
  assert.equal(calls(), 5);
});

test('fake-names: each name binds the first unknown remote replying on its port, independently per port', () => {
  const { fake } = names();
  fake.outbound(v4('198.18.0.1', 53));
  fake.outbound(v4('198.18.0.2', 443));
  assert.equal(show(fake.inbound(v4('198.51.100.9', 443))), '198.18.0.2:443');
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53');
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53');
  assert.equal(show(fake.inbound(v4('198.51.100.7', 53))), '198.51.100.7:53', 'a third party once the name is bound');
  // Sending to the name again does not unbind it or open its port to others.
  fake.outbound(v4('198.18.0.1', 53));
  assert.equal(show(fake.inbound(v4('198.51.100.7', 53))), '198.51.100.7:53');
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53');
});

test('fake-names: a bound remote addressed by IP by the application is itself from then on', () => {
  const { fake } = names();
  fake.outbound(v4('198.18.0.1', 53));
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53');
  assert.equal(show(fake.outbound(v4('198.51.100.8', 53))), '198.51.100.8:53');
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.51.100.8:53');
  assert.equal(show(fake.outbound(v4('198.18.0.1', 53))), 'name:n1.test:53', 'the name still goes by name');
});

test('fake-names: a relay that names the source is mapped by the name and port sent to; unknown names pass', () => {
  const { fake } = names();
  fake.outbound(v4('198.18.0.3', 5000));
  assert.equal(show(fake.inbound({ kind: 'domain', host: 'n3.test', port: 5000 })), '198.18.0.3:5000');
  assert.equal(show(fake.inbound({ kind: 'domain', host: 'other.test', port: 5000 })), 'name:other.test:5000');
  // Naming the source does not bind the port: the first unknown IP remote still does.
  assert.equal(show(fake.inbound(v4('198.51.100.3', 5000))), '198.18.0.3:5000');
});

test('fake-names: memory is bounded; a forgotten name is learned again from the next datagram and reply', () => {
  const { fake, calls } = names();
  fake.outbound(v4('198.18.0.1', 53));
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53');
  for (let i = 0; i < 300; i++) fake.outbound(v4(`203.0.113.${i % 250}`, 1000 + i)); // pushes the name out
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.51.100.8:53', 'forgotten');
  const before = calls();
  assert.equal(show(fake.outbound(v4('198.18.0.1', 53))), 'name:n1.test:53');
  assert.equal(calls(), before + 1, 'asked the pool again');
  assert.equal(show(fake.inbound(v4('198.51.100.8', 53))), '198.18.0.1:53', 'and bound again');
});

test('fake-names: the association holds each pool address it sent to once, at most 256, and releases them all when it ends', () => {
  const { fake, holds } = names();
  fake.outbound(v4('198.18.0.1', 53));
  fake.outbound(v4('198.18.0.1', 53));
  fake.outbound(v4('198.18.0.1', 443));
  fake.outbound(v4('203.0.113.1', 53));
  fake.outbound(v4('198.18.0.200', 53));
  assert.deepEqual([...holds], [['198.18.0.1', 1]]);
  for (let i = 0; i < 300; i++) fake.outbound(v4(`198.18.${1 + (i >> 8)}.${i & 255}`, 53));
  assert.equal(holds.size, 256, 'the oldest are let go');
  assert.equal(holds.has('198.18.0.1'), false);
  fake.outbound(v4('198.18.0.1', 53));
  assert.equal(holds.get('198.18.0.1'), 1, 'and held again when sent to again');
  fake.releaseAll();
  assert.equal(holds.size, 0);
});
