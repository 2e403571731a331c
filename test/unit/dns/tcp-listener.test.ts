// The DNS listener on loopback with a stand-in handler: what a client that pipelines queries and
// never reads its answers can make the daemon hold, and sources it must not answer.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../../../src/codec/dns-tcp-frame.js';
import { startDnsListener, type ClientCheck, type DnsListener } from '../../../src/inbound/dns.js';

const log = pino({ level: 'silent' });
/** Each answer is this big, so a few hundred fill every kernel buffer between the two ends. */
const ANSWER_BYTES = 32 * 1024;
const QUERIES = 2000;

/** Answers every query (after a turn of the event loop) with ANSWER_BYTES bytes carrying its id; counts the queries it was given. */
const handler = {
  started: 0,
  async handle(raw: Buffer): Promise<Buffer> {
    this.started++;
    await sleep(1);
    const reply = Buffer.alloc(ANSWER_BYTES);
    raw.copy(reply, 0, 0, 2);
    return reply;
  },
};

/** The listener on 127.0.0.1 at a free port (UDP and TCP share it, so port 0 cannot do). */
async function listen(clients: ClientCheck = { allows: () => true }): Promise<{ listener: DnsListener; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      return { listener: await startDnsListener({ kind: 'ipv4', host: '127.0.0.1', port }, handler, clients, log), port };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt > 20) throw err;
    }
  }
}

const query = (id: number) => dnsPacket.encode({ id, type: 'query', questions: [{ name: `q${id}.lab.test`, type: 'A' }] });

/** Samples `read` until it stops changing (or `ms` pass); its last value. */
async function settled(read: () => number, ms: number): Promise<number> {
  let last = -1;
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(250)) {
    const now = read();
    if (now === last) break;
    last = now;
  }
  return read();
}

test('a TCP client that pipelines queries and never reads gets only a bounded number resolved; other clients are still answered', async () => {
  const { listener, port } = await listen();
  after(() => listener.close());
  const hog = connect({ port, host: '127.0.0.1' });
  await once(hog, 'connect');
  hog.pause(); // never reads: its receive buffer fills, then ours
  hog.write(Buffer.concat(Array.from({ length: QUERIES }, (_, i) => encodeDnsTcpFrame(query(i)))));
  try {
    const started = await settled(() => handler.started, 5_000);
    // The kernel buffers on both sides hold some answers (a few MiB); everything past them stays unread.
    assert.ok(started < QUERIES / 4, `${started} of ${QUERIES} queries resolved for a client that reads nothing`);

    const polite = connect({ port, host: '127.0.0.1' });
    await once(polite, 'connect');
    const reader = new DnsTcpFrameReader();
    polite.write(encodeDnsTcpFrame(query(7777)));
    const [chunk] = (await once(polite, 'data')) as [Buffer];
    const frames = [...reader.push(chunk)];
    for (let more = chunk; frames.length === 0; frames.push(...reader.push(more))) [more] = (await once(polite, 'data')) as [Buffer];
    assert.equal(frames[0].readUInt16BE(0), 7777);
    polite.destroy();

    const udp = dgram.createSocket('udp4');
    udp.send(query(8888), port, '127.0.0.1');
    const [reply] = (await once(udp, 'message')) as [Buffer];
    assert.equal(reply.readUInt16BE(0), 8888);
    udp.close();
  } finally {
    hog.destroy();
  }
});

test('a source the filter refuses gets no UDP answer and its TCP connection is closed unread; both are counted', async () => {
  const asked: string[] = [];
  const { listener, port } = await listen({ allows: (address) => (asked.push(address), false) });
  after(() => listener.close());
  const before = handler.started;
  const udp = dgram.createSocket('udp4');
  udp.send(query(1), port, '127.0.0.1');
  const answered = await Promise.race([once(udp, 'message').then(() => true), sleep(300).then(() => false)]);
  udp.close();
  assert.equal(answered, false);
  const tcp = connect({ port, host: '127.0.0.1' });
  tcp.on('error', () => {});
  tcp.write(encodeDnsTcpFrame(query(2)));
  await once(tcp, 'close');
  assert.equal(handler.started, before, 'nothing reached the handler');
  assert.equal(listener.refused, 2);
  assert.deepEqual(asked, ['127.0.0.1', '127.0.0.1']);
});
