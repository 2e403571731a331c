// Fuzz: the client handshakes (SOCKS5 step by step and pipelined, with and without a login; SOCKS4
// and 4a; HTTP CONNECT) as the state machines both dialers drive. Random and mutated server replies,
// delivered split anywhere the way runHandshake delivers them, end in NEED_MORE, `done` within the
// bytes received, or an SgError from the catalogue; the same outcome (and the same messages sent)
// however the replies were split. A chain's composed handshake (2–3 hops) likewise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Handshake } from '../../src/adapter/handshake.js';
import type { SocksAddr } from '../../src/core/addr.js';
import { encodeSocks4Reply } from '../../src/codec/socks4.js';
import { AuthMethod, encodeMethodSelection, encodeReply } from '../../src/codec/socks5.js';
import { ErrorCode, SgError } from '../../src/core/errors.js';
import { CodecError, NEED_MORE } from '../../src/core/need-more.js';
import { httpConnectHandshake } from '../../src/outbound/http-connect.js';
import { socks4Handshake } from '../../src/outbound/socks4.js';
import { Socks5Handshake } from '../../src/outbound/socks5-handshake.js';
import { ChainHandshake, type NamedLeg } from '../../src/outbound/chain/chain-handshake.js';
import { bytes, connectResponse, encodeConnectResponse, ipv4Text, port, socksAddr, utf8 } from '../helpers/codec-arbitraries.js';
import { cuts, fuzzRuns, outcomeOf, type Outcome } from '../helpers/fuzz.js';
import { fuzzInputs } from '../helpers/mutate.js';

const CATALOGUE: readonly string[] = Object.values(ErrorCode);
/** More messages than any handshake here has steps: a machine asking for more is looping. */
const MAX_SENDS = 6;

interface Driven {
  readonly sends: readonly Buffer[];
  /** Bytes the handshake took (`done`), NEED_MORE when the stream ran out first, or its SgError. */
  readonly end: Outcome<number | typeof NEED_MORE>;
}

/**
 * Drives `handshake` as runHandshake does: each time more bytes arrive, `advance` gets everything
 * received so far, and again after each message it asks to send, until it waits or is done.
 */
function drive(handshake: Handshake, stream: Buffer, at: readonly number[]): Driven {
  const sends: Buffer[] = [];
  const arrivals = [...new Set([...at.map((c) => c % (stream.length + 1)), stream.length])].filter((n) => n > 0).sort((a, b) => a - b);
  const end = outcomeOf((): number | typeof NEED_MORE => {
    for (const n of arrivals) {
      const received = stream.subarray(0, n);
      for (;;) {
        const progress = handshake.advance(received);
        if (progress === NEED_MORE) break;
        if ('done' in progress) {
          assert.ok(Number.isInteger(progress.done) && progress.done >= 1 && progress.done <= n, `done ${progress.done} of ${n} bytes`);
          return progress.done;
        }
        sends.push(progress.send);
        assert.ok(sends.length <= MAX_SENDS, 'the handshake keeps asking to send');
      }
    }
    return NEED_MORE;
  }, [SgError]);
  if ('error' in end) assert.ok(CATALOGUE.includes(end.error.code), `code ${end.error.code} is not in the catalogue`);
  return { sends, end };
}

/** The handshake for `dst` (or the typed refusal to build one), then replies split anywhere vs. all at once. */
function checkHandshake(make: () => Handshake, replies: Buffer, at: readonly number[]): void {
  const built = outcomeOf(make, [SgError, CodecError]);
  if ('error' in built) return;
  const split = drive(built.value, replies, at);
  const whole = drive(make(), replies, []);
  assert.deepStrictEqual(split.sends, whole.sends, 'the messages sent depend on how the replies were split');
  const sameEnd = 'error' in split.end ? 'error' in whole.end && whole.end.error.code === split.end.error.code : 'value' in whole.end && whole.end.value === split.end.value;
  assert.ok(sameEnd, `split: ${JSON.stringify(split.end)}; whole: ${JSON.stringify(whole.end)}`);
}

const relay = bytes(8);
const credentials = fc.option(fc.record({ username: utf8(1, 40, true), password: utf8(0, 40, true) }), { nil: undefined });

test('fuzz SOCKS5 handshake: server replies give NEED_MORE, done or a catalogued SgError, whatever the split', () => {
  const setup = fc.record({ dst: socksAddr, credentials, pipelined: fc.boolean(), earlyData: fc.option(bytes(8, 1), { nil: undefined }) });
  /** What a server answers: a method (sometimes one we refuse), a login status, the reply; then relay bytes. */
  const conversation = fc
    .record({
      method: fc.constantFrom(AuthMethod.NONE, AuthMethod.USERPASS, AuthMethod.NO_ACCEPTABLE, 1),
      // Some servers answer the login with the SOCKS version (5) instead of 1: accepted on purpose.
      login: fc.tuple(fc.constantFrom(1, 1, 5), fc.constantFrom(0, 0, 1)),
      reply: fc.constantFrom(0, 0, 1, 5),
      bound: socksAddr,
      rest: relay,
    })
    .map((c) =>
      Buffer.concat([
        encodeMethodSelection(c.method),
        ...(c.method === AuthMethod.USERPASS ? [Buffer.from(c.login)] : []),
        encodeReply(c.reply, c.bound),
        c.rest,
      ]),
    );
  fc.assert(
    fc.property(setup, fuzzInputs(conversation), cuts, (s, replies, at) => {
      const make = () => new Socks5Handshake(s.dst, { credentials: s.credentials, pipelined: s.pipelined, earlyData: s.pipelined ? s.earlyData : undefined });
      checkHandshake(make, replies, at);
    }),
    fuzzRuns(1_000),
  );
});

test('fuzz SOCKS4/4a handshake: server replies give NEED_MORE, done or a catalogued SgError, whatever the split', () => {
  const setup = fc.record({ dst: socksAddr, userId: utf8(0, 40, false), allowDomain: fc.boolean(), earlyData: fc.option(bytes(8, 1), { nil: undefined }) });
  const reply = fc
    .tuple(fc.constantFrom(0, 4), fc.constantFrom(0x5a, 0x5a, 0x5b, 0x5c, 0x5d, 0), ipv4Text, port, relay)
    .map(([version, code, host, p, rest]) => {
      const wire = encodeSocks4Reply(code, { kind: 'ipv4', host, port: p });
      wire[0] = version;
      return Buffer.concat([wire, rest]);
    });
  fc.assert(
    fc.property(setup, fuzzInputs(reply), cuts, (s, replies, at) => {
      checkHandshake(() => socks4Handshake(s.userId, s.allowDomain)(s.dst, s.earlyData), replies, at);
    }),
    fuzzRuns(1_000),
  );
});

test('fuzz HTTP CONNECT handshake: proxy responses give NEED_MORE, done or a catalogued SgError, whatever the split', () => {
  const setup = fc.record({
    dst: socksAddr,
    auth: fc.option(fc.record({ username: utf8(0, 20, true), password: utf8(0, 20, true) }), { nil: undefined }),
    earlyData: fc.option(bytes(8, 1), { nil: undefined }),
  });
  const response = fc.tuple(connectResponse, relay).map(([r, rest]) => Buffer.concat([encodeConnectResponse(r), rest]));
  fc.assert(
    fc.property(setup, fuzzInputs(response), cuts, (s, replies, at) => {
      checkHandshake(() => httpConnectHandshake(s.auth)(s.dst, s.earlyData), replies, at);
    }),
    fuzzRuns(1_000),
  );
});

test('fuzz a chain\'s composed handshake (2–3 hops of SOCKS5, pipelined or not, and HTTP CONNECT): NEED_MORE, done or a catalogued SgError, whatever the split', () => {
  const hop = fc.constantFrom('socks5-pipelined', 'socks5-stepwise', 'http');
  const setup = fc.record({ dst: socksAddr, hops: fc.array(hop, { minLength: 2, maxLength: 3 }), earlyData: fc.option(bytes(8, 1), { nil: undefined }) });
  const next = { kind: 'ipv4' as const, host: '198.51.100.1', port: 1080 };
  const legOf = (kind: string, dst: SocksAddr, i: number): NamedLeg => {
    const pipelined = kind === 'socks5-pipelined';
    const handshake = kind === 'http' ? httpConnectHandshake()(dst) : new Socks5Handshake(dst, { pipelined });
    return { hop: `hop ${i + 1}`, leg: { server: next, handshake, takesTrailingBytes: pipelined, bound: () => undefined, settle: () => {} } };
  };
  /** Each hop's successful answer in turn, then relay bytes: the valid conversation that gets mutated. */
  const answers = (hops: readonly string[], bound: SocksAddr, rest: Buffer) =>
    Buffer.concat([
      ...hops.map((kind) => (kind === 'http' ? Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n') : Buffer.concat([encodeMethodSelection(AuthMethod.NONE), encodeReply(0, bound)]))),
      rest,
    ]);
  fc.assert(
    fc.property(
      setup.chain((s) => fc.tuple(fc.constant(s), fuzzInputs(fc.tuple(socksAddr, relay).map(([bound, rest]) => answers(s.hops, bound, rest))), cuts)),
      ([s, replies, at]) => {
        const make = () => new ChainHandshake(s.hops.map((kind, i) => legOf(kind, i === s.hops.length - 1 ? s.dst : next, i)), s.earlyData);
        checkHandshake(make, replies, at);
      },
    ),
    fuzzRuns(1_000),
  );
});
