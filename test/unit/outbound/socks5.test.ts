import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { UpstreamConfig } from '../../../src/config/upstream.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { Socks5Outbound } from '../../../src/outbound/socks5.js';
import { startFakeSocks5, type FakeSocks5, type FakeSocks5Options } from '../../helpers/fake-socks5.js';
import { noUdp } from '../../helpers/outbounds.js';

const log = pino({ level: 'silent' });
const dst: SocksAddr = { kind: 'domain', host: 'example.test', port: 80 };
const servers: FakeSocks5[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** `byName`: the server given as a name to resolve (an IP literal, so no resolver is asked) rather than as an address. */
async function outboundFor(opts: FakeSocks5Options, upstream: Partial<UpstreamConfig> = {}, handshakeMs = 2_000, logger = log, byName = false) {
  const fake = await startFakeSocks5(opts);
  servers.push(fake);
  const config: UpstreamConfig = {
    name: 'fake',
    protocol: 'socks5',
    server: { kind: byName ? 'domain' : 'ipv4', host: '127.0.0.1', port: fake.port },
    pipelining: 'on',
    ...opts.credentials,
    ...upstream,
  };
  return { fake, outbound: new Socks5Outbound(config, { mark: 0, connectTimeoutMs: 2_000, handshakeTimeoutMs: handshakeMs }, logger, () => ({ name: 'fake', associate: noUdp })) };
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

async function learnedVerdict(opts: FakeSocks5Options, byName = false) {
  const { outbound } = await outboundFor(opts, { pipelining: 'auto' }, 2_000, log, byName);
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

test('the probe writes greeting, login and a CONNECT to port 0 in one write, and closes its connection', async () => {
  const credentials = { username: 'u', password: 'p' };
  const { fake, outbound } = await outboundFor({ credentials }, { pipelining: 'auto' });
  outbound.start();
  for (let i = 0; i < 50 && outbound.pipelining.current === undefined; i++) await sleep(50);
  assert.equal(outbound.pipelining.current, 'pipelined');
  const [probe] = fake.reads;
  assert.equal(probe.length, 1, 'one read');
  const login = Buffer.from([1, 1, 0x75, 1, 0x70]);
  const connectToPort0 = Buffer.from([5, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(probe[0], Buffer.concat([Buffer.from([5, 1, 2]), login, connectToPort0]));
  const open = () => new Promise<number>((resolve) => fake.server.getConnections((_err, n) => resolve(n)));
  for (let i = 0; i < 50 && (await open()) > 0; i++) await sleep(20);
  assert.equal(await open(), 0, 'the probe closed its connection');
});

test('a probe whose login is refused learns nothing and warns once', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const { outbound } = await outboundFor({ credentials: { username: 'u', password: 'right' } }, { pipelining: 'auto', password: 'wrong' }, 2_000, logger);
  outbound.start();
  for (let i = 0; i < 50 && lines.length === 0; i++) await sleep(50);
  await sleep(100);
  assert.equal(outbound.pipelining.current, undefined);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /rejected the username\/password/);
});

test('a probe of an upstream given by name (resolved first) judges as one given by address', async () => {
  assert.equal(await learnedVerdict({ reply: 'echo' }, true), 'pipelined');
  assert.equal(await learnedVerdict({ dropsPipelined: true }, true), 'stepwise');
});

test('optimistic data: greeting, login, CONNECT and the client\'s first bytes reach the server in one read', async () => {
  const credentials = { username: 'alice', password: 'pw' };
  const { fake, outbound } = await outboundFor({ credentials });
  assert.equal(outbound.takesEarlyData(), true);
  const socket = await outbound.dial(dst, { flowId: 8, earlyData: Promise.resolve(Buffer.from('GET / HTTP/1.1\r\n\r\n')) });
  socket.resume();
  const [echoed] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echoed.toString(), 'GET / HTTP/1.1\r\n\r\n', 'the data reached the destination side once');
  socket.destroy();
  assert.equal(fake.reads[0].length, 1, 'one read on the server');
  const first = fake.reads[0][0];
  assert.equal(first.length, 3 + 10 + 19 + 18, `first read was ${first.toString('hex')}`);
  assert.equal(first.subarray(32).toString(), 'GET / HTTP/1.1\r\n\r\n');
});

test('optimistic data is never sent in the handshake to a server that does not take pipelining', async () => {
  const { fake, outbound } = await outboundFor({ dropsPipelined: true }, { pipelining: 'off' });
  assert.equal(outbound.takesEarlyData(), false);
  // Had the session passed bytes anyway (verdict changed meanwhile), they follow the handshake.
  const socket = await outbound.dial(dst, { flowId: 9, earlyData: Promise.resolve(Buffer.from('late')) });
  socket.resume();
  const [echoed] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echoed.toString(), 'late');
  socket.destroy();
  assert.deepEqual([...fake.reads[0][0]], [5, 1, 0], 'the first read is the greeting alone');
});

test('auto takes optimistic data only once it has learned that the server reads pipelined bytes', async () => {
  const learning = await outboundFor({ dropsPipelined: true }, { pipelining: 'auto' });
  assert.equal(learning.outbound.takesEarlyData(), false, 'not before the verdict');
  learning.outbound.start();
  for (let i = 0; i < 50 && learning.outbound.pipelining.current === undefined; i++) await sleep(50);
  assert.equal(learning.outbound.pipelining.current, 'stepwise');
  assert.equal(learning.outbound.takesEarlyData(), false, 'microsocks-like servers never get it');
  const reading = await outboundFor({}, { pipelining: 'auto' });
  reading.outbound.start();
  for (let i = 0; i < 50 && reading.outbound.pipelining.current === undefined; i++) await sleep(50);
  assert.equal(reading.outbound.takesEarlyData(), true);
});

test('optimistic data still on its way when the connect completes is waited for, then sent with the handshake', async () => {
  const { fake, outbound } = await outboundFor({});
  const later = new Promise<Buffer | undefined>((resolve) => setTimeout(() => resolve(Buffer.from('late-first-bytes')), 50));
  const socket = await outbound.dial(dst, { flowId: 10, earlyData: later });
  socket.resume();
  const [echoed] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echoed.toString(), 'late-first-bytes');
  socket.destroy();
  assert.equal(fake.reads[0].length, 1, 'one read on the server');
  assert.equal(fake.reads[0][0].subarray(3 + 19).toString(), 'late-first-bytes');
});

test('optimistic data: a silent client (undefined) leaves a plain pipelined handshake', async () => {
  const { fake, outbound } = await outboundFor({});
  const socket = await outbound.dial(dst, { flowId: 11, earlyData: Promise.resolve(undefined) });
  assert.equal(await roundTrip(socket, 'x'), 'x');
  assert.equal(fake.reads[0][0].length, 3 + 19);
});
