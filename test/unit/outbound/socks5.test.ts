import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { UpstreamConfig } from '../../../src/config/upstream.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { Socks5Outbound } from '../../../src/outbound/socks5.js';
import { startFakeSocks5, type FakeSocks5, type FakeSocks5Options } from '../../helpers/fake-socks5.js';

const log = pino({ level: 'silent' });
const dst: SocksAddr = { kind: 'domain', host: 'example.test', port: 80 };
const servers: FakeSocks5[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function outboundFor(opts: FakeSocks5Options, upstream: Partial<UpstreamConfig> = {}, handshakeMs = 2_000) {
  const fake = await startFakeSocks5(opts);
  servers.push(fake);
  const config: UpstreamConfig = {
    name: 'fake',
    protocol: 'socks5',
    server: { kind: 'ipv4', host: '127.0.0.1', port: fake.port },
    pipelining: 'on',
    ...opts.credentials,
    ...upstream,
  };
  return { fake, outbound: new Socks5Outbound(config, { mark: 0, connectTimeoutMs: 2_000, handshakeTimeoutMs: handshakeMs }, log) };
}

async function roundTrip(socket: import('node:net').Socket, text: string): Promise<string> {
  socket.resume();
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return chunk.toString();
}

test('pipelined: greeting, login and CONNECT reach the server in one write', async () => {
  const credentials = { username: 'alice', password: 'pw' };
  const { fake, outbound } = await outboundFor({ credentials });
  const socket = await outbound.dial(dst, { flowId: 1 });
  assert.equal(await roundTrip(socket, 'hello'), 'hello');
  const first = fake.reads[0][0];
  // greeting(3) + login(1+1+5+1+2) + request(4+1+12+2)
  assert.equal(first.length, 3 + 10 + 19, `first read was ${first.toString('hex')}`);
  assert.deepEqual([...first.subarray(0, 3)], [5, 1, 2]);
});

test('step by step: only the greeting is sent before the method reply', async () => {
  const { fake, outbound } = await outboundFor({}, { pipelining: 'off' });
  const socket = await outbound.dial(dst, { flowId: 2 });
  assert.equal(await roundTrip(socket, 'x'), 'x');
  assert.deepEqual([...fake.reads[0][0]], [5, 1, 0]);
});

test('failures map to catalogued reasons', async () => {
  const cases: [FakeSocks5Options['reply'], string, RegExp][] = [
    [2, 'SG_ERR_UPSTREAM_REFUSED', /REP=2/],
    [5, 'SG_ERR_UPSTREAM_REFUSED', /refused/],
    ['garbage', 'SG_ERR_MALFORMED_REPLY', /malformed SOCKS5 reply/],
    ['eof', 'SG_ERR_UPSTREAM_CLOSED', /closed/],
    ['silent', 'SG_ERR_HANDSHAKE_TIMEOUT', /within 300 ms/],
  ];
  for (const [reply, code, message] of cases) {
    const { outbound } = await outboundFor({ reply }, {}, 300);
    await assert.rejects(outbound.dial(dst, { flowId: 3 }), (err: Error & { code: string }) => {
      assert.equal(err.code, code, `reply ${reply}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('wrong password is an auth failure that never shows the password', async () => {
  const { outbound } = await outboundFor({ credentials: { username: 'alice', password: 'right' } }, { password: 'wrong-secret' });
  await assert.rejects(outbound.dial(dst, { flowId: 4 }), (err: Error & { code: string }) => {
    assert.equal(err.code, 'SG_ERR_AUTH_FAILED');
    assert.ok(!err.message.includes('wrong-secret'));
    return true;
  });
});

test('unreachable upstream is reported as such', async () => {
  const { fake, outbound } = await outboundFor({});
  await fake.close();
  await assert.rejects(outbound.dial(dst, { flowId: 5 }), { code: 'SG_ERR_UPSTREAM_UNREACHABLE' });
});

test('an aborted dial stops at once', async () => {
  const { outbound } = await outboundFor({ reply: 'silent' }, {}, 5_000);
  const abort = new AbortController();
  const dial = outbound.dial(dst, { flowId: 6, signal: abort.signal });
  setTimeout(() => abort.abort(), 50);
  await assert.rejects(dial, { code: 'SG_ERR_ABORTED' });
});

async function learnedVerdict(opts: FakeSocks5Options) {
  const { outbound } = await outboundFor(opts, { pipelining: 'auto' });
  assert.equal(outbound.pipelining.shouldPipeline(), false, 'auto starts step by step');
  for (let i = 0; i < 50 && outbound.pipelining.current === undefined; i++) await sleep(50);
  // Flows work whatever was learned.
  const socket = await outbound.dial(dst, { flowId: 7 });
  assert.equal(await roundTrip(socket, 'ok'), 'ok');
  return outbound.pipelining.current;
}

test('auto learns pipelined for a server that reads the whole pipelined handshake', async () => {
  assert.equal(await learnedVerdict({ reply: 'echo' }), 'pipelined');
  assert.equal(await learnedVerdict({ credentials: { username: 'u', password: 'p' } }), 'pipelined');
});

test('auto learns step-by-step for a server that drops pipelined bytes (microsocks)', async () => {
  assert.equal(await learnedVerdict({ dropsPipelined: true }), 'stepwise');
  assert.equal(await learnedVerdict({ dropsPipelined: true, credentials: { username: 'u', password: 'p' } }), 'stepwise');
});
