import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import { WatchedOutbound } from '../../../src/outbound/watched-outbound.js';
import type { DialPlan } from '../../../src/adapter/handshake.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import { Socks5Handshake } from '../../../src/outbound/socks5-handshake.js';
import { noUdp } from '../../helpers/outbounds.js';

const server: SocksAddr = { kind: 'ipv4', host: '192.0.2.1', port: 1080 };
const dst: SocksAddr = { kind: 'ipv4', host: '203.0.113.10', port: 80 };

/** An outbound whose plans record what they were settled with. */
function planning(plan: (dst: SocksAddr) => DialPlan | undefined): Outbound {
  return { name: 'up', server, dial: () => Promise.reject(new Error('not used')), associate: noUdp, plan };
}

function fakePlan(settled: unknown[]): DialPlan {
  return {
    server,
    mark: 1,
    connectTimeoutMs: 1_000,
    handshakeTimeoutMs: 2_000,
    handshake: new Socks5Handshake(dst, { pipelined: false }),
    settle: (err) => void settled.push(err),
  };
}

test('a settled plan counts as a dial: timed on success, remembered on failure, the inner plan told too', () => {
  const settled: unknown[] = [];
  const timings: number[] = [];
  const watched = new WatchedOutbound(planning(() => fakePlan(settled)), (_, seconds) => timings.push(seconds));

  const ok = watched.plan(dst)!;
  assert.equal(ok.handshakeTimeoutMs, 2_000);
  ok.settle(undefined);
  const refused = new SgError(ErrorCode.UPSTREAM_REFUSED, 'upstream refused: 403');
  watched.plan(dst)!.settle(refused);
  watched.plan(dst)!.settle(new SgError(ErrorCode.ABORTED, 'client went away during the handshake'));

  assert.deepEqual(settled.map((e) => (e === undefined ? 'ok' : (e as SgError).code)), ['ok', ErrorCode.UPSTREAM_REFUSED, ErrorCode.ABORTED]);
  assert.equal(timings.length, 1);
  assert.ok(timings[0] >= 0);
  const health = watched.health();
  assert.equal(health.dials, 3);
  assert.equal(health.failures, 1, 'an aborted dial says nothing about the upstream');
  assert.equal(health.lastError?.reason, ErrorCode.UPSTREAM_REFUSED);
});

test('no plan (host-named server, or an outbound without plans) counts nothing: dial will', () => {
  for (const inner of [planning(() => undefined), { name: 'up', server, dial: () => Promise.reject(new Error('x')), associate: noUdp }]) {
    const watched = new WatchedOutbound(inner);
    assert.equal(watched.plan(dst), undefined);
    assert.equal(watched.health().dials, 0);
  }
});

test('a plan refused outright is a failed dial', () => {
  const watched = new WatchedOutbound(planning(() => {
    throw new SgError(ErrorCode.UPSTREAM_REFUSED, 'SOCKS4 cannot carry IPv6 destinations');
  }));
  assert.throws(() => watched.plan(dst), /IPv6/);
  assert.equal(watched.health().dials, 1);
  assert.equal(watched.health().failures, 1);
});
