// UdpFastPath (src/native/udp-fast.c, udp-fast.ts) on loopback, without TPROXY: a relay socket read
// by the addon; replies whose SOCKS5 UDP header names a remote with a registered reply socket go
// to the client from that socket without JavaScript, everything else reaches JavaScript whole;
// broken headers are dropped and counted; counts come back through sync() and on close.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { encodeSocks5UdpHeader } from '../../../src/codec/socks5-udp.js';
import { openUdpSocket } from '../../../src/native/index.js';
import { UdpFastPath, type FastTotals } from '../../../src/native/udp-fast.js';

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

function collect(socket: dgram.Socket): Buffer[] {
  const got: Buffer[] = [];
  socket.on('message', (msg) => got.push(msg));
  return got;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(5);
  assert.ok(check(), 'condition not reached in 1 s');
}

function setup() {
  const totals: FastTotals[] = [];
  const fast = new UdpFastPath({ maxForwards: 8, maxReplySockets: 2, mark: 0, onTotals: (t) => totals.push(t) });
  const sum = (key: keyof FastTotals) => totals.reduce((n, t) => n + t[key], 0);
  return { fast, sum };
}

test('replies: through a registered reply socket in the addon, counted; to JavaScript without one, or for a name', async () => {
  const { fast, sum } = setup();
  const relay = await bound();
  const client = await bound();
  const remote = openUdpSocket(addrOf('127.0.0.1', 0)); // stands in for the transparent socket bound to the remote
  const remoteAddr = addrOf('127.0.0.1', remote.address().port);
  const other = addrOf('127.0.0.1', 9);
  const toClient = collect(client);
  const toJs: Buffer[] = [];
  let replies = 0;
  let used = 0;
  const port = fast.openRelay(addrOf('127.0.0.1', relay.address().port), addrOf('127.0.0.1', client.address().port), { onDatagrams: (list) => toJs.push(...list), onError: assert.fail }, (n) => (replies += n));
  fast.replySocket(remoteAddr, remote, (n) => (used += n));

  const upstream = once(relay, 'message');
  assert.equal(port.send(Buffer.from('out')), true);
  const [, rinfo] = (await upstream) as [Buffer, dgram.RemoteInfo];
  const back = (addr: Parameters<typeof encodeSocks5UdpHeader>[0]['addr'], text: string) =>
    relay.send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr }), Buffer.from(text)]), rinfo.port, rinfo.address);

  for (let i = 0; i < 5; i++) back(remoteAddr, `native ${i}`);
  back(other, 'no reply socket');
  back({ kind: 'domain', host: 'example.test', port: 53 }, 'a name');
  await until(() => toClient.length === 5 && toJs.length === 2);
  assert.deepEqual(toClient.map(String), [0, 1, 2, 3, 4].map((i) => `native ${i}`));
  assert.match(String(toJs[0]), /no reply socket$/);
  assert.match(String(toJs[1]), /a name$/);
  fast.sync();
  assert.equal(replies, 5);
  assert.equal(used, 5);
  assert.equal(sum('repliesOut'), 5);
  assert.equal(sum('replyErrors'), 0);

  // Forgetting the socket sends its replies to JavaScript again.
  back(remoteAddr, 'before');
  await until(() => toClient.length === 6);
  fast.forgetReplySocket(remoteAddr, remote);
  assert.equal(used, 6, 'forgetting hands over the uses not yet synced');
  back(remoteAddr, 'after');
  await until(() => toJs.length === 3);
  assert.match(String(toJs[2]), /after$/);

  port.close();
  assert.equal(replies, 6, 'closing hands over the replies not yet synced');
  fast.close();
  for (const s of [relay, client, remote]) s.close();
});

test('broken replies are dropped and counted: reserved bytes, truncated, unknown address type, FRAG', async () => {
  const { fast, sum } = setup();
  const relay = await bound();
  const client = await bound();
  const toJs: Buffer[] = [];
  const port = fast.openRelay(addrOf('127.0.0.1', relay.address().port), addrOf('127.0.0.1', client.address().port), { onDatagrams: (list) => toJs.push(...list), onError: assert.fail }, () => {});
  const upstream = once(relay, 'message');
  port.send(Buffer.from('out'));
  const [, rinfo] = (await upstream) as [Buffer, dgram.RemoteInfo];
  const good = encodeSocks5UdpHeader({ frag: 0, addr: addrOf('127.0.0.1', 9) });
  const broken = [Buffer.from([0, 1, ...good.subarray(2)]), good.subarray(0, 6), Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5, 6]), Buffer.from([0, 0]), Buffer.alloc(0)];
  const fragment = Buffer.from([0, 0, 1, ...good.subarray(3), 7]);
  for (const d of [...broken, fragment]) relay.send(d, rinfo.port, rinfo.address);
  relay.send(Buffer.concat([good, Buffer.from('fine')]), rinfo.port, rinfo.address); // no reply socket: to JavaScript
  await until(() => toJs.length === 1);
  fast.sync();
  assert.equal(sum('malformed'), broken.length);
  assert.equal(sum('fragmented'), 1);
  assert.match(String(toJs[0]), /fine$/);
  port.close();
  fast.close();
  relay.close();
  client.close();
});

test('establish: bounded by maxForwards, refused for names and after close; closing twice is harmless', async () => {
  const { fast } = setup();
  const relay = await bound();
  const port = fast.openRelay(addrOf('127.0.0.1', relay.address().port), addrOf('127.0.0.1', 1), { onDatagrams: () => {}, onError: assert.fail }, () => {});
  const header = encodeSocks5UdpHeader({ frag: 0, addr: addrOf('192.0.2.1', 1) });
  const results = Array.from({ length: 10 }, (_, i) => port.establish(addrOf('127.0.0.1', 1000), addrOf('192.0.2.1', 1 + i), header, () => {}));
  assert.deepEqual(results, [...Array(8).fill(true), false, false]);
  assert.equal(port.establish(addrOf('127.0.0.1', 1000), addrOf('192.0.2.1', 1), header, () => {}), true, 'the same pair replaces itself');
  assert.equal(port.establish(addrOf('127.0.0.1', 1000), { kind: 'domain', host: 'example.test', port: 1 }, header, () => {}), false);
  port.close();
  port.close();
  assert.equal(port.establish(addrOf('127.0.0.1', 1000), addrOf('192.0.2.1', 1), header, () => {}), false);
  assert.equal(port.send(Buffer.from('x')), false);
  fast.close();
  fast.close();
  relay.close();
});

test('a direct socket: sends to any destination; replies from a remote with a reply socket go to the client in the addon, others to JavaScript with their source', async () => {
  const { fast, sum } = setup();
  const remoteA = await bound();
  const remoteB = await bound();
  const client = await bound();
  const replyAs = openUdpSocket(addrOf('127.0.0.1', 0)); // stands in for the transparent socket bound to remote A
  const toClient = collect(client);
  const toJs: { text: string; from: string }[] = [];
  let replies = 0;
  const port = fast.openDirect('ipv4', addrOf('127.0.0.1', client.address().port), { onDatagrams: (list, sources) => list.forEach((d, i) => toJs.push({ text: String(d), from: `${sources![i].host}:${sources![i].port}` })), onError: assert.fail }, (n) => (replies += n));
  const a = addrOf('127.0.0.1', remoteA.address().port);
  fast.replySocket(a, replyAs, () => {});
  const gotA = once(remoteA, 'message');
  const gotB = once(remoteB, 'message');
  assert.equal(port.sendTo(a, Buffer.from('to A')), true);
  assert.equal(port.sendTo(addrOf('127.0.0.1', remoteB.address().port), Buffer.from('to B')), true);
  const [msgA, fromUs] = (await gotA) as [Buffer, dgram.RemoteInfo];
  assert.equal(String(msgA), 'to A');
  assert.equal(String(((await gotB) as [Buffer])[0]), 'to B');
  remoteA.send('A answers', fromUs.port, fromUs.address);
  remoteB.send('B answers', fromUs.port, fromUs.address);
  await until(() => toClient.length === 1 && toJs.length === 1);
  assert.equal(String(toClient[0]), 'A answers', 'no header to strip: the payload as it came');
  assert.deepEqual(toJs, [{ text: 'B answers', from: `127.0.0.1:${remoteB.address().port}` }]);
  fast.sync();
  assert.equal(replies, 1);
  assert.equal(sum('repliesOut'), 1);
  port.close();
  fast.close();
  for (const s of [remoteA, remoteB, client, replyAs]) s.close();
});
