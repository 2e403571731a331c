import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDnsTcpFrame, DnsTcpFrameReader, encodeDnsTcpFrame } from '../../../src/codec/dns-tcp-frame.js';
import { NEED_MORE } from '../../../src/core/need-more.js';
import { throwsCode } from '../../helpers/codec-assert.js';

const MESSAGE = Buffer.from('abcd01000001000000000000', 'hex');

test('a frame is the message behind its 16-bit big-endian length', () => {
  assert.equal(encodeDnsTcpFrame(MESSAGE).toString('hex'), '000c' + MESSAGE.toString('hex'));
  assert.deepEqual(decodeDnsTcpFrame(encodeDnsTcpFrame(MESSAGE), 0), { value: MESSAGE, bytesRead: 14 });
});

test('a partial frame needs more; an offset skips what came before', () => {
  const framed = encodeDnsTcpFrame(MESSAGE);
  assert.equal(decodeDnsTcpFrame(framed.subarray(0, 1), 0), NEED_MORE);
  assert.equal(decodeDnsTcpFrame(framed.subarray(0, 13), 0), NEED_MORE);
  const behind = Buffer.concat([Buffer.from([9, 9, 9]), framed]);
  assert.deepEqual(decodeDnsTcpFrame(behind, 3), { value: MESSAGE, bytesRead: 14 });
});

test('a frame too short for a DNS header is refused; a message over 65535 bytes cannot be framed', () => {
  throwsCode(() => decodeDnsTcpFrame(Buffer.from('000bffffffffffffffffffffff', 'hex'), 0), 'DNS_FRAME_TOO_SHORT');
  throwsCode(() => decodeDnsTcpFrame(Buffer.from('0000', 'hex'), 0), 'DNS_FRAME_TOO_SHORT');
  throwsCode(() => encodeDnsTcpFrame(Buffer.alloc(65_536)), 'DNS_FRAME_TOO_LONG');
});

test('the reader yields every whole message and keeps the rest for later', () => {
  const reader = new DnsTcpFrameReader();
  const two = Buffer.concat([encodeDnsTcpFrame(MESSAGE), encodeDnsTcpFrame(MESSAGE)]);
  assert.deepEqual(reader.push(two.subarray(0, 20)), [MESSAGE]);
  assert.equal(reader.buffered, 6);
  assert.deepEqual(reader.push(two.subarray(20)), [MESSAGE]);
  assert.equal(reader.buffered, 0);
});
