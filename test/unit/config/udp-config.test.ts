import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { udpOverrides } from '../../../src/cli/udp-options.js';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';

test('udp: defaults', () => {
  const config = validateConfig({ upstreams: ['socks5://192.0.2.1:1080'] });
  assert.deepEqual(config.udp, { timeout_s: 60, max_associations: 1024, max_pending_associations: 256, max_reply_sockets: 1024, queue_datagrams: 32, queue_bytes: 65_536, send_source: false });
});

test('udp: flags override the file key by key; unknown and bad keys are errors with their path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-udp-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'upstreams: [socks5://192.0.2.1:1080]\nudp:\n  timeout_s: 5\n  max_reply_sockets: 7\n');
  const config = loadConfig(file, { udp: udpOverrides({ udpMaxAssociations: 3 }) });
  assert.equal(config.udp.timeout_s, 5);
  assert.equal(config.udp.max_associations, 3);
  assert.equal(config.udp.max_reply_sockets, 7);
  assert.equal(loadConfig(file, { udp: udpOverrides({ udpTimeout: 0.5 }) }).udp.timeout_s, 0.5);
  const issues = configIssues(() => validateConfig({ upstreams: ['socks5://h:1'], udp: { timeout: 5, max_associations: 0 } }));
  assert.ok(issues.includes('udp.timeout: unknown key'), issues.join());
  assert.ok(issues.some((i) => i.startsWith('udp.max_associations: ')), issues.join());
});
