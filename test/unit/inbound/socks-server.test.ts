// The proxy inbound (src/inbound/socks/) over loopback with a fake router: each protocol's
// handshake, logins, the reply sent only once the router reports the dial, refusals and limits.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import pino from 'pino';
import type { ClientConn } from '../../../src/adapter/client-conn.js';
import type { Router } from '../../../src/adapter/router.js';
import { addrOf, type SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode, SgError } from '../../../src/core/errors.js';
import type { Flow } from '../../../src/core/flow.js';
import type { SocksInboundConfig } from '../../../src/config/socks-inbound.js';
import { LoopGuard } from '../../../src/inbound/loop-guard.js';
import { startSocksInbound, type SocksInbound } from '../../../src/inbound/socks/server.js';
import { Socks5Refusal } from '../../../src/outbound/upstream-refusal.js';
import { closedPort } from '../../helpers/native-accept.js';

const T = { timeout: 10_000 };
const cleanups: (() => void)[] = [];
after(() => cleanups.splice(0).forEach((c) => c()));

/** What the fake router does with each flow: report success (with this bound address) or this failure. */
type Outcome = { bound: SocksAddr } | { error: Error };
const BOUND = addrOf('192.0.2.7', 4321);

interface Server {
  port: number;
  flows: Flow[];
  logs: string[];
  inbound: SocksInbound;
  /** Bytes the client sent past its handshake, as the relay would read them first. */
  relayed: Promise<Buffer>[];
}

async function startServer(opts: { users?: { name: string; password: string }[]; outcome?: Outcome; maxHandshakes?: number; handshakeMs?: number } = {}): Promise<Server> {
  const port = await closedPort();
  const flows: Flow[] = [];
  const relayed: Promise<Buffer>[] = [];
  const logs: string[] = [];
  const outcome = opts.outcome ?? { bound: BOUND };
  const router = {
    routeTcp(flow: Flow, client: ClientConn) {
      flows.push(flow);
      const socket = client.socket();
      if ('error' in outcome) return client.answer!.failed(outcome.error);
      void client.answer!.connected(outcome.bound);
      relayed.push(
        new Promise((resolve) => {
          const chunks: Buffer[] = [];
          socket.on('data', (c: Buffer) => chunks.push(c));
          socket.resume();
          setTimeout(() => {
            resolve(Buffer.concat(chunks));
            socket.destroy();
          }, 150);
        }),
      );
    },
  } as unknown as Router;
  const config: SocksInboundConfig = { listen: addrOf('127.0.0.1', port), users: opts.users ?? [], allowOpen: false, maxHandshakes: opts.maxHandshakes ?? 16, bindTimeoutMs: 120_000 };
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
  const log = pino({ level: 'debug' }, sink);
  const guard = new LoopGuard([config.listen], [], async () => []);
  const inbound = startSocksInbound(config, { router, guard, log, handshakeMs: opts.handshakeMs ?? 2000 });
  cleanups.push(() => inbound.close());
  return { port, flows, logs, inbound, relayed };
}

/** Sends each part in its own write (a split handshake), returns every byte until the server closes or `waitMs` passes. */
async function exchange(port: number, parts: (Buffer | string)[], waitMs = 400): Promise<{ reply: Buffer; closed: boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  cleanups.push(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const closing = once(socket, 'close').then(() => true);
  for (const part of parts) {
    if (!socket.destroyed) socket.write(part);
    await new Promise((r) => setTimeout(r, 5));
  }
  const closed = await Promise.race([closing, new Promise<boolean>((r) => setTimeout(() => r(false), waitMs))]);
  socket.destroy();
  return { reply: Buffer.concat(chunks), closed };
}

const hex = (text: string) => Buffer.from(text.replace(/ /g, ''), 'hex');
/** Every byte in its own write: the handshake must not care how its bytes arrive. */
const bytewise = (buf: Buffer) => [...buf].map((b) => Buffer.of(b));
const socks5Domain = (cmd: number, host: string, port: number) => Buffer.concat([Buffer.of(5, cmd, 0, 3, host.length), Buffer.from(host), Buffer.of(port >> 8, port & 255)]);

test('SOCKS5 without login: a domain CONNECT reaches the router as a name, then REP 0 with the bound address', T, async () => {
  const s = await startServer();
  const { reply } = await exchange(s.port, [...bytewise(Buffer.concat([hex('05 01 00'), socks5Domain(1, 'example.test', 443)])), 'early bytes']);
  assert.deepEqual(reply, hex('05 00  05 00 00 01 c0 00 02 07 10 e1'));
  assert.equal(s.flows.length, 1);
  const [flow] = s.flows;
  assert.deepEqual([flow.inbound, flow.user, flow.dst], ['socks', undefined, { kind: 'domain', host: 'example.test', port: 443 }]);
  assert.equal(String(await s.relayed[0]), 'early bytes');
});

test('SOCKS5 login: a wrong password gets status 1 and the close; the right one names the user in the flow', T, async () => {
  const s = await startServer({ users: [{ name: 'alice', password: 'pw' }] });
  const login = (user: string, pass: string) => Buffer.concat([Buffer.of(1, user.length), Buffer.from(user), Buffer.of(pass.length), Buffer.from(pass)]);
  const wrong = await exchange(s.port, [hex('05 01 02'), login('alice', 'pX')]);
  assert.deepEqual([wrong.reply, wrong.closed], [hex('05 02 01 01'), true]);
  const noAuthOffered = await exchange(s.port, [hex('05 01 00')]);
  assert.deepEqual([noAuthOffered.reply, noAuthOffered.closed], [hex('05 ff'), true]);
  const ok = await exchange(s.port, [hex('05 02 00 02'), login('alice', 'pw'), hex('05 01 00 01 c6 33 64 01 00 50')]);
  assert.deepEqual(ok.reply.subarray(0, 6), hex('05 02 01 00 05 00'));
  assert.deepEqual([s.flows.length, s.flows[0].user, s.flows[0].dst.host], [1, 'alice', '198.51.100.1']);
  assert.ok(s.logs.some((l) => l.includes('SG_ERR_AUTH_FAILED') && l.includes('"user":"alice"')));
  assert.ok(s.logs.every((l) => !l.includes('pX')), 'a tried password is never logged');
});

test('SOCKS5 refusals: BIND and UDP ASSOCIATE REP 7 (not served yet), unknown address type REP 8, a rule\'s reject REP 2', T, async () => {
  const s = await startServer();
  for (const cmd of [2, 3]) assert.deepEqual((await exchange(s.port, [hex('05 01 00'), socks5Domain(cmd, 'a.test', 1)])).reply, hex('05 00 05 07 00 01 00 00 00 00 00 00'));
  assert.deepEqual((await exchange(s.port, [hex('05 01 00 05 01 00 09 00')])).reply, hex('05 00 05 08 00 01 00 00 00 00 00 00'));
  assert.equal(s.flows.length, 0);
  const rejecting = await startServer({ outcome: { error: new SgError(ErrorCode.REJECTED, 'rejected by a route rule') } });
  const { reply, closed } = await exchange(rejecting.port, [hex('05 01 00'), socks5Domain(1, 'ads.test', 80)]);
  assert.deepEqual([reply, closed], [hex('05 00 05 02 00 01 00 00 00 00 00 00'), true]);
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const unreachable = await startServer({ outcome: { error: new SgError(ErrorCode.UPSTREAM_UNREACHABLE, 'cannot connect', { cause: refused }) } });
  assert.equal((await exchange(unreachable.port, [hex('05 01 00'), socks5Domain(1, 'a.test', 80)])).reply[3], 5);
  const upstreamSaid = await startServer({ outcome: { error: new Socks5Refusal(4) } });
  assert.equal((await exchange(upstreamSaid.port, [hex('05 01 00'), socks5Domain(1, 'a.test', 80)])).reply[3], 4, 'the SOCKS5 upstream\'s own reason');
});

test('SOCKS4 and 4a: the address or the name, CD 0x5a with the bound IPv4; users log in with user-id name:password', T, async () => {
  const s = await startServer();
  const v4 = await exchange(s.port, bytewise(hex('04 01 00 50 c6 33 64 02 00')));
  assert.deepEqual(v4.reply, hex('00 5a 10 e1 c0 00 02 07'));
  await exchange(s.port, [Buffer.concat([hex('04 01 01 bb 00 00 00 01'), Buffer.from('someone\0name.test\0')])]);
  assert.deepEqual(s.flows.map((f) => f.dst), [addrOf('198.51.100.2', 80), { kind: 'domain', host: 'name.test', port: 443 }]);
  assert.equal(s.flows[1].user, undefined, 'a user-id is no login when the listener has no users');
  assert.deepEqual((await exchange(s.port, [hex('04 02 00 50 c6 33 64 02 00')])).reply, hex('00 5b 00 00 00 00 00 00'), 'BIND is not served yet');

  const locked = await startServer({ users: [{ name: 'bob', password: 'pw' }] });
  assert.deepEqual((await exchange(locked.port, [Buffer.concat([hex('04 01 00 50 c6 33 64 02'), Buffer.from('bob\0')])])).reply, hex('00 5b 00 00 00 00 00 00'));
  assert.equal((await exchange(locked.port, [Buffer.concat([hex('04 01 00 50 c6 33 64 02'), Buffer.from('bob:pw\0')])])).reply[1], 0x5a);
  assert.deepEqual(locked.flows.map((f) => f.user), ['bob']);
});

test('HTTP: CONNECT answered 200 only after the dial; 407 without login; a plain request forwarded in origin-form', T, async () => {
  const s = await startServer({ users: [{ name: 'carol', password: 'pw' }] });
  const auth = `Proxy-Authorization: Basic ${Buffer.from('carol:pw').toString('base64')}\r\n`;
  const denied = await exchange(s.port, ['CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n']);
  assert.match(String(denied.reply), /^HTTP\/1\.1 407 .*\r\nProxy-Authenticate: Basic realm="socksgate"\r\n/);
  const tunnel = await exchange(s.port, [`CONNECT example.test:443 HTTP/1.1\r\n${auth}\r\n`]);
  assert.equal(String(tunnel.reply), 'HTTP/1.1 200 Connection established\r\n\r\n');
  await exchange(s.port, [`GET http://example.test:8080/x?y HTTP/1.1\r\nHost: example.test:8080\r\n${auth}Accept: */*\r\n\r\n`]);
  assert.deepEqual(s.flows.map((f) => [f.dst.host, f.dst.port, f.user]), [['example.test', 443, 'carol'], ['example.test', 8080, 'carol']]);
  assert.equal(String(await s.relayed[1]), 'GET /x?y HTTP/1.1\r\nHost: example.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n');
  const bad = await exchange(s.port, [`GET /no-host HTTP/1.1\r\n${auth}\r\n`]);
  assert.match(String(bad.reply), /^HTTP\/1\.1 400 /);
  const timeout = await startServer({ outcome: { error: new SgError(ErrorCode.CONNECT_TIMEOUT, 'no TCP connection') } });
  assert.match(String((await exchange(timeout.port, ['CONNECT a.test:1 HTTP/1.1\r\n\r\n'])).reply), /^HTTP\/1\.1 504 /);
});

test('garbage, silence past the deadline, too many handshakes and loops are turned away', T, async () => {
  const s = await startServer({ handshakeMs: 200, maxHandshakes: 1 });
  assert.deepEqual(await exchange(s.port, [hex('16 03 01 00')]), { reply: Buffer.alloc(0), closed: true });
  const silent = net.connect({ port: s.port, host: '127.0.0.1' });
  silent.on('error', () => {});
  cleanups.push(() => silent.destroy());
  await once(silent, 'connect');
  await new Promise((r) => setTimeout(r, 50));
  // The one handshake slot is taken: the next client is reset at once, maybe before its connect completes.
  const second = net.connect({ port: s.port, host: '127.0.0.1' });
  second.on('error', () => {});
  second.on('data', () => assert.fail('no reply to a client over the cap'));
  await new Promise((resolve) => second.once('close', resolve)); // events.once would reject on the reset's 'error'
  assert.ok(s.logs.some((l) => l.includes('SG_ERR_HANDSHAKES_FULL')));
  await once(silent, 'close'); // the deadline closes the silent client
  assert.deepEqual((await exchange(s.port, [hex('05 01 00 05 01 00 01 7f 00 00 01'), Buffer.of(s.port >> 8, s.port & 255)])).reply, hex('05 00 05 02 00 01 00 00 00 00 00 00'), 'a CONNECT to the listener itself');
  assert.equal(s.flows.length, 0);
});

test('reconfigure: new users apply to the next connection', T, async () => {
  const s = await startServer();
  s.inbound.reconfigure({ listen: addrOf('127.0.0.1', s.port), users: [{ name: 'dave', password: 'pw' }], allowOpen: false, maxHandshakes: 16, bindTimeoutMs: 120_000 });
  assert.deepEqual((await exchange(s.port, [hex('05 01 00')])).reply, hex('05 ff'));
});
