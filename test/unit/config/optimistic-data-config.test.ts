import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, validateConfig } from '../../../src/config/load.js';

const base = { upstreams: ['socks5://192.0.2.1:1080'] };

test('optimistic data is off by default, with a 50 ms wait', () => {
  assert.deepEqual(validateConfig(base).optimistic_data, { enabled: false, wait_ms: 50 });
});

test('optimistic_data: the file sets it, flags override key by key, bad values are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'upstreams: [socks5://192.0.2.1:1080]\noptimistic_data: { wait_ms: 20 }\n');
  assert.deepEqual(loadConfig(file).optimistic_data, { enabled: false, wait_ms: 20 });
  assert.deepEqual(loadConfig(file, { optimisticData: { enabled: true } }).optimistic_data, { enabled: true, wait_ms: 20 });
  assert.throws(
    () => validateConfig({ ...base, optimistic_data: { enabled: true, wait: 5 } }),
    (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.path === 'optimistic_data.wait' && i.message === 'unknown key'),
  );
  assert.throws(() => validateConfig({ ...base, optimistic_data: { wait_ms: -1 } }), (err: unknown) => err instanceof ConfigError && err.issues[0].path === 'optimistic_data.wait_ms');
});
