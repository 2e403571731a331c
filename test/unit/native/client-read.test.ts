// The proxy inbound's handshake I/O in the addon (src/native/client-read.c/.ts) on loopback: a client
// net.Socket connects to an acceptTcp listener and the accepted fd is read and answered by the addon.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { clientRead, ClientReadEnd, clientReadStop, clientReset, clientSend, type ClientReadEvents } from '../../../src/native/client-read.js';
import { nativeBinding } from '../../../src/native/index.js';
import { acceptedPair, clientEnd } from '../../helpers/native-accept.js';

const T = { timeout: 10_000 };
const cleanups: (() => unknown)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Records every event; `next` resolves on the next one. */
function recorder() {
  const events: string[] = [];
  let wake: (() => void) | undefined;
  const push = (e: string) => {
    events.push(e);
    wake?.();
  };
  const handlers: ClientReadEvents = {
    // The chunk is the addon's shared buffer: turned into text at once.
    onData: (chunk) => push(`data ${chunk.toString()}`),
    onEnd: (end, errno) => push(end === ClientReadEnd.EOF ? 'eof' : end === ClientReadEnd.TIMEOUT ? 'timeout' : `error ${errno}`),
  };
  const next = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (events.length >= count ? resolve() : (wake = check));
      check();
    });
  return { events, handlers, next };
}

test('each arrival is one event with its bytes, then EOF once; a send is taken whole', T, async () => {
  const { client, accepted } = await acceptedPair(cleanups, { allowHalfOpen: true });
  cleanups.push(() => nativeBinding().closeFd(accepted.fd));
  const r = recorder();
  clientRead(accepted.fd, 5_000, r.handlers);
  client.write('hello');
  await r.next(1);
  assert.equal(clientSend(accepted.fd, Buffer.from('reply')), 5);
  const [got] = (await once(client, 'data')) as [Buffer];
  assert.equal(String(got), 'reply');
  client.write('again');
  await r.next(2);
  client.end();
  await r.next(3);
  assert.deepEqual(r.events, ['data hello', 'data again', 'eof']);
});

test('the deadline ends the read (the fd stays open); a stopped reader reports nothing more; a reset reaches the client', T, async () => {
  const slow = await acceptedPair(cleanups);
  cleanups.push(() => nativeBinding().closeFd(slow.accepted.fd));
  const timed = recorder();
  clientRead(slow.accepted.fd, 50, timed.handlers);
  await timed.next(1);
  assert.deepEqual(timed.events, ['timeout']);
  // Not closed by the reader: a send still reaches the client.
  assert.equal(clientSend(slow.accepted.fd, Buffer.from('x')), 1);
  assert.equal(String(((await once(slow.client, 'data')) as [Buffer])[0]), 'x');

  const { client, accepted } = await acceptedPair(cleanups);
  const stopped = recorder();
  clientRead(accepted.fd, 5_000, stopped.handlers);
  clientReadStop(accepted.fd);
  // The fd can be read again once stopped.
  const again = recorder();
  clientRead(accepted.fd, 5_000, again.handlers);
  client.write('late');
  await again.next(1);
  clientReadStop(accepted.fd);
  assert.deepEqual(stopped.events, []);
  assert.deepEqual(again.events, ['data late']);
  const ended = clientEnd(client);
  clientReset(accepted.fd);
  assert.equal(await ended, 'reset');
});

test('reading an fd that is already read is refused', T, async () => {
  const { accepted } = await acceptedPair(cleanups);
  cleanups.push(() => nativeBinding().closeFd(accepted.fd));
  const r = recorder();
  clientRead(accepted.fd, 5_000, r.handlers);
  assert.throws(() => clientRead(accepted.fd, 5_000, r.handlers), { code: 'SG_ERR_CLIENT_READ_STATE' });
  clientReadStop(accepted.fd);
});
