import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { changedKeys } from '../../../src/daemon/reload.js';
import { metricsAddress } from '../../../src/cli/observe-options.js';

const base = { upstreams: ['socks5://192.0.2.1:1080'], redirect: ['127.0.0.1:12345'] };

test('a reload names exactly the sections that changed', () => {
  const old = validateConfig(base);
  assert.deepEqual(changedKeys(old, validateConfig(base)), []);
  assert.deepEqual(changedKeys(old, validateConfig({ ...base, upstreams: ['socks5://192.0.2.1:1081'] })), ['upstreams']);
  assert.deepEqual(
    changedKeys(old, validateConfig({ ...base, redirect: ['127.0.0.1:12346'], log: { level: 'debug' }, rules: { bypass: ['203.0.113.0/24'] } })),
    ['log.level', 'redirect', 'rules'],
  );
  // A changed password alone is a change, though it is never logged.
  const withPass = validateConfig({ ...base, upstreams: [{ url: 'socks5://u@192.0.2.1:1080', password: 'a' }] });
  assert.deepEqual(changedKeys(withPass, validateConfig({ ...base, upstreams: [{ url: 'socks5://u@192.0.2.1:1080', password: 'b' }] })), ['upstreams']);
});

test('--metrics: a bare port is loopback, an address is taken as given, garbage names the flag', () => {
  assert.deepEqual(metricsAddress('9464'), { kind: 'ipv4', host: '127.0.0.1', port: 9464 });
  assert.deepEqual(metricsAddress('[::1]:9464'), { kind: 'ipv6', host: '::1', port: 9464 });
  assert.equal(metricsAddress(undefined), undefined);
  assert.throws(() => metricsAddress('nope:x'), /metrics/);
});
