// outbound/group-outbound.ts: in-flow failover (Node dial, native plans), no member, UDP that moves.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import type { DialPlan } from '../../../src/adapter/handshake.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import type { UdpAssociation, UdpAssociationEvents } from '../../../src/adapter/udp.js';
import { GroupOutbound } from '../../../src/outbound/group-outbound.js';

const log = pino({ level: 'silent' });
const DST = addrOf('203.0.113.2', 80);

interface FakeMember extends Outbound {
  fail?: string;
  readonly dialed: Buffer[];
  readonly associations: UdpAssociationEvents[];
  udp?: string;
}

function fake(name: string, fail?: string): FakeMember {
  const member: FakeMember = {
    name,
    fail,
    dialed: [],
    associations: [],
    server: addrOf('198.51.100.1', 1080),
    async dial(_dst, ctx) {
      const early = await ctx.earlyData;
      if (early) member.dialed.push(early);
      if (member.fail) throw new SgError(member.fail as never, `${name} failed`);
      return new Socket();
    },
    plan(): DialPlan {
      return { server: member.server, mark: 0, connectTimeoutMs: 1, handshakeTimeoutMs: 1, handshake: { opening: Buffer.from(name), expecting: 'x', advance: () => ({ done: 0 }) }, settle: () => {} };
    },
    async associate(_client: SocksAddr, events: UdpAssociationEvents): Promise<UdpAssociation> {
      if (member.udp) throw new SgError(member.udp as never, 'no');
      member.associations.push(events);
      return { relay: name, send: () => true, close: () => {} };
    },
  };
  return member;
}

function group(members: Outbound[], policy: 'failover' | 'round-robin' = 'failover') {
  return new GroupOutbound({ name: 'main', policy, failbackMs: 0, health: { failAfter: 1, retryMs: 60_000, maxRetryMs: 60_000 }, budgetMs: 10_000 }, members, log);
}

test('a dial that fails on a member goes on to the next with the same optimistic bytes; the failure counts against the member', async () => {
  const a = fake('a', ErrorCode.CONNECT_TIMEOUT);
  const b = fake('b');
  const g = group([a, b]);
  const socket = await g.dial(DST, { flowId: 1, earlyData: Promise.resolve(Buffer.from('GET /')) });
  socket.destroy();
  assert.deepEqual([a.dialed.map(String), b.dialed.map(String)], [['GET /'], ['GET /']]);
  const [ma, mb] = g.health().members;
  assert.deepEqual([ma.state, ma.failovers, ma.failures, mb.state, mb.failovers], ['down', 1, 1, 'up', 0]);
  // a is down (failAfter 1): the next flow goes straight to b.
  a.dialed.length = 0;
  (await g.dial(DST, { flowId: 2 })).destroy();
  assert.equal(a.dialed.length, 0);
});

test('a flow dialed through a member counts as active there until the dispatcher says it ended', async () => {
  const g = group([fake('a')]);
  const ends: (() => void)[] = [];
  const socket = await g.dial(DST, { flowId: 1, whenEnded: (fn) => ends.push(fn) });
  socket.destroy();
  assert.equal(g.health().members[0].activeFlows, 1, 'a socket handed to the splice relay closes at once: not the end');
  ends.forEach((fn) => fn());
  assert.equal(g.health().members[0].activeFlows, 0);
});

test('a refusal of the target (the member answered) is not retried and says nothing about the member', async () => {
  const a = fake('a', ErrorCode.UPSTREAM_REFUSED);
  const b = fake('b');
  const g = group([a, b]);
  await assert.rejects(g.dial(DST, { flowId: 1, earlyData: Promise.resolve(Buffer.from('x')) }), { code: ErrorCode.UPSTREAM_REFUSED });
  assert.deepEqual([g.health().members[0].state, b.dialed.length], ['up', 0]);
});

test('no member up: the flow fails at once with SG_ERR_NO_HEALTHY_MEMBER naming each member\'s state', async () => {
  const g = group([fake('a', ErrorCode.UPSTREAM_UNREACHABLE), fake('b', ErrorCode.AUTH_FAILED)]);
  await assert.rejects(g.dial(DST, { flowId: 1 }), { code: ErrorCode.AUTH_FAILED });
  await assert.rejects(g.dial(DST, { flowId: 2 }), (err: SgError) => err.code === ErrorCode.NO_HEALTHY_MEMBER && /a: down \(SG_ERR_UPSTREAM_UNREACHABLE/.test(err.message) && /b: down/.test(err.message));
  assert.throws(() => g.plan(DST), { code: ErrorCode.NO_HEALTHY_MEMBER });
});

test('native plans: a failed plan\'s retry is the next member\'s plan; a success counts an active flow until closed', () => {
  const g = group([fake('a'), fake('b')]);
  const first = g.plan(DST)!;
  assert.equal(String(first.handshake.opening), 'a');
  first.settle(new SgError(ErrorCode.HANDSHAKE_TIMEOUT, 'slow'));
  const second = first.retry!()!;
  assert.equal(String(second.handshake.opening), 'b');
  second.settle(undefined);
  assert.deepEqual(g.health().members.map((m) => [m.state, m.activeFlows, m.failovers]), [['down', 0, 1], ['up', 1, 0]]);
  second.closed!();
  assert.equal(g.health().members[1].activeFlows, 0);
  second.settle(new SgError(ErrorCode.HANDSHAKE_TIMEOUT, 'x'));
  assert.equal(second.retry!(), undefined, 'no member after the last');
});

test('round-robin spreads new flows over the members', async () => {
  const members = [fake('a'), fake('b'), fake('c')];
  const g = group(members, 'round-robin');
  const firsts = Array.from({ length: 6 }, () => String(g.plan(DST)!.handshake.opening));
  assert.deepEqual(firsts, ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('UDP: a member that refuses UDP ASSOCIATE is skipped for good; an association whose member dies moves to the next member', async () => {
  const a = fake('a');
  a.udp = ErrorCode.UDP_UNSUPPORTED;
  const b = fake('b');
  const c = fake('c');
  const g = group([a, b, c]);
  const replies: string[] = [];
  const closes: string[] = [];
  const assoc = await g.associate(addrOf('192.0.2.1', 5353), { onReply: (_f, p) => replies.push(String(p)), onClose: (r) => closes.push(r) });
  assert.equal(assoc.relay, 'b b');
  assert.equal(g.health().members[0].udp, 'unsupported');
  b.associations[0].onClose('control connection closed');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(assoc.relay, 'c c');
  b.associations[0].onReply(DST, Buffer.from('late, from the dead member'));
  c.associations[0].onReply(DST, Buffer.from('hello'));
  assert.deepEqual([replies, closes], [['hello'], []]);
  c.associations[0].onClose('gone too');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closes.length, 1, 'no member left: the association ends');
});

test('a group rebuilt by a reload keeps the health of the members it still has (same health settings), fresh for the others', async () => {
  const a = fake('a', ErrorCode.CONNECT_TIMEOUT);
  const old = group([a, fake('b')]);
  (await old.dial(DST, { flowId: 1 })).destroy();
  const settings = { name: 'main', policy: 'round-robin' as const, failbackMs: 0, health: { failAfter: 1, retryMs: 60_000, maxRetryMs: 60_000 }, budgetMs: 10_000 };
  const next = new GroupOutbound(settings, [fake('c'), fake('a')], log, old);
  assert.deepEqual(next.health().members.map((m) => [m.name, m.state, m.failures]), [['c', 'up', 0], ['a', 'down', 1]]);
  const changed = new GroupOutbound({ ...settings, health: { ...settings.health, failAfter: 5 } }, [fake('a')], log, old);
  assert.equal(changed.health().members[0].state, 'up', 'other health settings: a fresh start');
});

test('BIND goes through the first usable member that can BIND; a refusal passes to the next without marking the member down', async () => {
  const bound = addrOf('198.51.100.1', 40000);
  const listener = { bound, accepted: () => Promise.reject(new Error('unused')), close: () => {} };
  const noBind = fake('no-bind');
  const refusing: Outbound = { ...fake('refusing'), bind: () => Promise.reject(new SgError(ErrorCode.BIND_UNSUPPORTED, 'refused')) };
  const binding: Outbound = { ...fake('binding'), bind: async () => listener };
  const g = group([noBind, refusing, binding]);
  assert.equal(await g.bind(addrOf('203.0.113.9', 0), { flowId: 1, localHost: '192.0.2.2' }), listener);
  assert.deepEqual(g.health().members.map((m) => m.state), ['up', 'up', 'up']);
  await assert.rejects(group([noBind]).bind(addrOf('203.0.113.9', 0), { flowId: 2, localHost: '192.0.2.2' }), { code: ErrorCode.BIND_UNSUPPORTED });
});

test('as a hop of a chain, a group gives its first usable member\'s leg; the leg\'s outcome counts for that member', () => {
  const legOf = (name: string): Outbound => ({
    ...fake(name),
    leg: (dst) => ({ server: addrOf(name === 'a' ? '198.51.100.1' : '198.51.100.2', 1080), handshake: { opening: Buffer.from(`${name}>${dst.host}`), expecting: 'x', advance: () => ({ done: 0 }) }, takesTrailingBytes: false, bound: () => undefined, settle: () => {} }),
  });
  const g = group([fake('no-leg'), legOf('a'), legOf('b')]);
  const first = g.leg(DST, 'connect');
  assert.equal(String(first.handshake.opening), 'a>203.0.113.2');
  first.settle(new SgError(ErrorCode.CONNECT_TIMEOUT, 'hop down'));
  assert.equal(g.health().members[1].state, 'down');
  const second = g.leg(DST, 'connect');
  assert.deepEqual(second.server, addrOf('198.51.100.2', 1080));
  second.settle(undefined);
  assert.equal(g.health().members[2].state, 'up');
});
