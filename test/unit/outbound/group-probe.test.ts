// outbound/group-probe.ts: a TCP probe is a CONNECT through the member, a UDP probe one DNS query over its association.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import type { UdpAssociationEvents } from '../../../src/adapter/udp.js';
import { probeTcp, probeUdp } from '../../../src/outbound/group-probe.js';

const TARGET = addrOf('203.0.113.2', 53);

/** AbortSignal.timeout's timer does not hold the event loop open (the daemon's listeners do): a test must. */
async function held<T>(body: () => Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1_000);
  try {
    return await body();
  } finally {
    clearInterval(hold);
  }
}

function member(opts: { dial?: 'ok' | 'refused' | 'hang'; udp?: 'answer' | 'silent' | 'unsupported' }): Outbound {
  return {
    name: 'm',
    server: addrOf('198.51.100.1', 1080),
    dial: (_dst, ctx) =>
      opts.dial === 'ok'
        ? Promise.resolve(new Socket())
        : opts.dial === 'refused'
          ? Promise.reject(new SgError(ErrorCode.UPSTREAM_UNREACHABLE, 'cannot connect'))
          : new Promise((_resolve, reject) => ctx.signal!.addEventListener('abort', () => reject(new SgError(ErrorCode.ABORTED, 'aborted')))),
    async associate(_client, events: UdpAssociationEvents) {
      if (opts.udp === 'unsupported') throw new SgError(ErrorCode.UDP_UNSUPPORTED, 'no UDP');
      return {
        relay: 'r',
        send: (dst, data, headroom) => {
          assert.deepEqual(dst, TARGET);
          const query = data.subarray(headroom);
          // An answer with the query's id, and first one with another id (ignored).
          if (opts.udp === 'answer') setImmediate(() => (events.onReply(dst, Buffer.from([query[0] ^ 1, query[1]])), events.onReply(dst, query)));
          return true;
        },
        close: () => {},
      };
    },
  };
}

test('TCP probe: passes when the CONNECT works, names the failure or the timeout otherwise', () => held(async () => {
  assert.equal((await probeTcp(member({ dial: 'ok' }), TARGET, 500)).failure, undefined);
  assert.match((await probeTcp(member({ dial: 'refused' }), TARGET, 500)).failure!, /^SG_ERR_UPSTREAM_UNREACHABLE: cannot connect/);
  assert.equal((await probeTcp(member({ dial: 'hang' }), TARGET, 50)).failure, 'probe timed out after 50 ms');
}));

test('UDP probe: up on an answer with the query\'s id, down without one, unsupported when the member refuses UDP', () => held(async () => {
  assert.equal(await probeUdp(member({ udp: 'answer' }), TARGET, 500), 'up');
  assert.equal(await probeUdp(member({ udp: 'silent' }), TARGET, 50), 'down');
  assert.equal(await probeUdp(member({ udp: 'unsupported' }), TARGET, 500), 'unsupported');
}));
