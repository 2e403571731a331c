// The UDP inbound on loopback without rules: the kernel reports every datagram's destination, here
// the listener itself, which the loop guard refuses when it knows the listener.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { pino } from 'pino';
import type { SocksAddr } from '../../../src/core/addr.js';
import { LoopGuard } from '../../../src/inbound/loop-guard.js';
import { startTproxyUdpInbound, UDP_HEADROOM } from '../../../src/inbound/tproxy-udp.js';
import { createUdpCounters } from '../../../src/adapter/udp-counters.js';

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

async function run(guarded: boolean) {
  const at: SocksAddr = { kind: 'ipv4', host: '127.0.0.1', port: await freePort() };
  const counters = createUdpCounters();
  const seen: { src: SocksAddr; dst: SocksAddr; payload: string; headroom: number }[] = [];
  const inbound = startTproxyUdpInbound(at, {
    guard: new LoopGuard(guarded ? [at] : [], []),
    counters,
    log: pino({ level: 'silent' }),
    router: {
      decide: () => assert.fail('not asked'),
      routeTcp: () => assert.fail('not asked'),
      routeDatagram: (src, dst, data, headroom) => void seen.push({ src, dst, payload: data.subarray(headroom).toString(), headroom }),
    },
  });
  const client = dgram.createSocket('udp4');
  client.send(Buffer.from('ping'), at.port, at.host);
  for (let i = 0; i < 100 && counters.datagramsIn === 0; i++) await new Promise((r) => setTimeout(r, 10));
  inbound.close();
  const port = client.address().port;
  client.close();
  return { at, counters, seen, port };
}

test('tproxy-udp: hands on source, original destination and the payload behind the headroom', { timeout: 5_000 }, async () => {
  const { at, seen, port, counters } = await run(false);
  assert.deepEqual(seen, [{ src: { kind: 'ipv4', host: '127.0.0.1', port }, dst: at, payload: 'ping', headroom: UDP_HEADROOM }]);
  assert.equal(counters.datagramsIn, 1);
});

test('tproxy-udp: a datagram to the listener itself is a loop: dropped and counted, not logged', { timeout: 5_000 }, async () => {
  const { seen, counters } = await run(true);
  assert.deepEqual(seen, []);
  assert.equal(counters.droppedLoop, 1);
});
