import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/core/errors.js';
import { pipeliningVerdict } from '../../../src/outbound/pipelining.js';

test('pipeliningVerdict: a handshake that completed, or whose request was turned down, was read whole', () => {
  assert.equal(pipeliningVerdict('reply', undefined), 'pipelined');
  for (const code of [ErrorCode.UPSTREAM_REFUSED, ErrorCode.UPSTREAM_CLOSED, ErrorCode.UPSTREAM_RESET]) {
    assert.equal(pipeliningVerdict('reply', code), 'pipelined', code);
    assert.equal(pipeliningVerdict('auth', code), undefined, `${code} before the reply`);
  }
});

test('pipeliningVerdict: silence after the method (or login) reply means the tail was dropped', () => {
  assert.equal(pipeliningVerdict('auth', ErrorCode.HANDSHAKE_TIMEOUT), 'stepwise');
  assert.equal(pipeliningVerdict('reply', ErrorCode.HANDSHAKE_TIMEOUT), 'stepwise');
});

test('pipeliningVerdict: no method reply or a refused login tells nothing', () => {
  assert.equal(pipeliningVerdict('method', ErrorCode.HANDSHAKE_TIMEOUT), undefined);
  assert.equal(pipeliningVerdict('method', ErrorCode.UPSTREAM_CLOSED), undefined);
  assert.equal(pipeliningVerdict('auth', ErrorCode.AUTH_FAILED), undefined);
  assert.equal(pipeliningVerdict('reply', ErrorCode.MALFORMED_REPLY), undefined);
});
