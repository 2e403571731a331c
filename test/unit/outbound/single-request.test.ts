import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import type { UpstreamConfig } from '../../../src/config/upstream.js';
import type { PipeliningMode } from '../../../src/config/upstream-url.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { createOutbound } from '../../../src/outbound/registry.js';
import { pino } from 'pino';
import { testOutboundSettings } from '../../helpers/outbounds.js';

const log = pino({ level: 'silent' });
const dst: SocksAddr = { kind: 'ipv4', host: '203.0.113.10', port: 80 };
const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** A CONNECT/SOCKS4 server reading one request, answering `reply`, then echoing; it logs every read. */
async function fakeServer(requestEnd: (buffered: Buffer) => number, reply: Buffer) {
  const reads: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const mine: Buffer[] = [];
    reads.push(mine);
    let buffered = Buffer.alloc(0);
    let done = false;
    socket.on('data', (chunk) => {
      mine.push(chunk);
      if (done) return void socket.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      const end = requestEnd(buffered);
      if (end < 0) return;
      done = true;
      socket.write(reply);
      if (end < buffered.length) socket.write(buffered.subarray(end));
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, reads };
}

const httpEnd = (b: Buffer) => {
  const at = b.indexOf('\r\n\r\n');
  return at < 0 ? -1 : at + 4;
};
const socks4End = (b: Buffer) => (b.length >= 9 ? b.indexOf(0, 8) + 1 || -1 : -1);

function outbound(protocol: 'http' | 'socks4', port: number, pipelining: PipeliningMode) {
  const config: UpstreamConfig = { name: protocol, protocol, server: { kind: 'ipv4', host: '127.0.0.1', port }, pipelining, ...(protocol === 'socks4' ? { username: 'u' } : {}) };
  return createOutbound(config, testOutboundSettings(), log);
}

async function firstEcho(socket: Socket): Promise<string> {
  socket.resume();
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return chunk.toString();
}

for (const [protocol, end, reply] of [
  ['http', httpEnd, Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n')],
  ['socks4', socks4End, Buffer.from([0, 90, 0, 0, 0, 0, 0, 0])],
] as const) {
  test(`${protocol}: with pipelining on, optimistic data shares the request's write (one read on the server)`, async () => {
    const fake = await fakeServer(end, reply);
    const out = outbound(protocol, fake.port, 'on');
    assert.equal(out.takesEarlyData?.(), true);
    const socket = await out.dial(dst, { flowId: 1, earlyData: Promise.resolve(Buffer.from('GET / HTTP/1.1\r\n\r\n')) });
    assert.equal(await firstEcho(socket), 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(fake.reads[0].length, 1, 'one read');
    assert.ok(fake.reads[0][0].subarray(end(fake.reads[0][0])).equals(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
  });

  test(`${protocol}: not configured pipelining on, no optimistic data (nothing can learn it)`, async () => {
    const fake = await fakeServer(end, reply);
    const out = outbound(protocol, fake.port, 'auto');
    assert.equal(out.takesEarlyData?.(), false);
    const socket = await out.dial(dst, { flowId: 2, earlyData: Promise.resolve(Buffer.from('after')) });
    assert.equal(await firstEcho(socket), 'after');
    assert.equal(end(fake.reads[0][0]), fake.reads[0][0].length, 'the first read is the request alone');
  });
}
