// trySendDatagram (src/native/udp-send.c): one datagram out of a socket from openUdpSocket, to an
// address or to the connected peer; undefined for a socket the addon did not make.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { openUdpSocket, trySendDatagram } from '../../../src/native/index.js';

test('to an address, to the connected peer, over IPv4 and IPv6; a foreign socket is left to dgram', async () => {
  for (const host of ['127.0.0.1', '::1']) {
    const receiver = openUdpSocket(addrOf(host, 0));
    const sender = openUdpSocket(addrOf(host, 0));
    const to = addrOf(host, receiver.address().port);
    const got = once(receiver, 'message');
    assert.equal(trySendDatagram(sender, Buffer.from(`to ${host}`), to), true);
    const [first, rinfo] = (await got) as [Buffer, { port: number }];
    assert.equal(String(first), `to ${host}`);
    assert.equal(rinfo.port, sender.address().port);
    await new Promise<void>((resolve) => sender.connect(to.port, to.host, resolve));
    const again = once(receiver, 'message');
    assert.equal(trySendDatagram(sender, Buffer.from('connected')), true);
    assert.equal(String(((await again) as [Buffer])[0]), 'connected');
    sender.close();
    receiver.close();
  }
  const foreign = createSocket('udp4');
  assert.equal(trySendDatagram(foreign, Buffer.from('x'), addrOf('127.0.0.1', 9)), undefined);
  foreign.close();
});

test('a datagram that cannot leave is false, not an exception: unconnected and no address', () => {
  const socket = openUdpSocket(addrOf('127.0.0.1', 0));
  assert.equal(trySendDatagram(socket, Buffer.from('nowhere')), false);
  socket.close();
});
