// inbounds.socks (src/config/socks-inbound.ts): defaults, password files, the open-proxy refusal, --socks.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';

const upstreams = ['socks5://192.0.2.1:1080'];
const dir = mkdtempSync(join(tmpdir(), 'sg-socks-config-'));
const alicePass = join(dir, 'alice.pass');
writeFileSync(alicePass, 's3cret:with colon\n\n');

test('a listener with nothing said: loopback port 1080, no users, no REDIRECT listener added', () => {
  const config = validateConfig({ upstreams, inbounds: { socks: [{}] } });
  assert.deepEqual(config.inbounds.socks, [{ listen: { kind: 'ipv4', host: '127.0.0.1', port: 1080 }, users: [], allowOpen: false, maxHandshakes: 256, bindTimeoutMs: 120_000 }]);
  assert.deepEqual(loadConfig(undefined, { upstream: upstreams, socks: ['127.0.0.1:1080'] }).redirect, []);
  assert.equal(loadConfig(undefined, { upstream: upstreams }).redirect.length, 1, 'without a proxy inbound the default REDIRECT listener stays');
});

test('users: the password read from its file with one trailing newline trimmed', () => {
  const config = validateConfig({ upstreams, inbounds: { socks: [{ listen: '192.0.2.9:1080', users: [{ name: 'alice', password_file: alicePass }] }] } });
  assert.deepEqual(config.inbounds.socks[0].users, [{ name: 'alice', password: 's3cret:with colon\n' }]);
});

test('a reachable address without users is refused unless allow_open; bad users are named by path', () => {
  const issues = configIssues(() => validateConfig({ upstreams, inbounds: { socks: [{ listen: '0.0.0.0:1080' }, { listen: '[::1]:1081' }] } }));
  assert.equal(issues.length, 1, issues.join());
  assert.match(issues[0], /^inbounds\.socks\.0\.listen: 0\.0\.0\.0:1080 is not a loopback address and the listener has no users: .*allow_open: true/);
  assert.equal(validateConfig({ upstreams, inbounds: { socks: [{ listen: '0.0.0.0:1080', allow_open: true }] } }).inbounds.socks[0].allowOpen, true);
  const bad = configIssues(() =>
    validateConfig({
      upstreams,
      inbounds: { socks: [{ users: [{ name: 'a:b', password_file: alicePass }], port: 1 }] },
    }),
  );
  assert.ok(bad.includes('inbounds.socks.0.port: unknown key'), bad.join());
  assert.match(configIssues(() => validateConfig({ upstreams, inbounds: { socks: [{ listen: 'localhost:1080' }] } }))[0], /^inbounds\.socks\.0\.listen: "localhost:1080": listen on an IP address/);
  assert.ok(bad.some((i) => i.startsWith('inbounds.socks.0.users.0.name: ')), bad.join());
});

test('users: a missing password file and a name listed twice are named by path', () => {
  const issues = configIssues(() =>
    validateConfig({ upstreams, inbounds: { socks: [{ users: [{ name: 'bob', password_file: join(dir, 'missing') }, { name: 'bob', password_file: alicePass }] }] } }),
  );
  assert.deepEqual(issues.map((i) => i.slice(0, i.indexOf(':'))), ['inbounds.socks.0.users.0.password_file', 'inbounds.socks.0.users.1.name']);
  assert.ok(issues.every((i) => !i.includes('s3cret')));
});

test('--socks replaces the file\'s listeners (their users with them) and keeps the rest of inbounds', () => {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `upstreams: [socks5://192.0.2.1:1080]\ninbounds:\n  socks:\n    - { listen: 127.0.0.1:1080, users: [{ name: alice, password_file: ${alicePass} }] }\n`);
  assert.equal(loadConfig(file).inbounds.socks[0].users.length, 1);
  const config = loadConfig(file, { socks: ['127.0.0.1:1090', '[::1]:1090'] });
  assert.deepEqual(config.inbounds.socks.map((s) => [s.listen.host, s.listen.port, s.users.length]), [['127.0.0.1', 1090, 0], ['::1', 1090, 0]]);
  assert.match(configIssues(() => loadConfig(file, { socks: ['192.0.2.1:1080'] }))[0], /^inbounds\.socks\.0\.listen: /);
});

test('bind_timeout_s: in seconds, positive; a bad value is named by its path', () => {
  assert.equal(validateConfig({ upstreams, inbounds: { socks: [{ bind_timeout_s: 1.5 }] } }).inbounds.socks[0].bindTimeoutMs, 1_500);
  const issues = configIssues(() => validateConfig({ upstreams, inbounds: { socks: [{ bind_timeout_s: 0 }] } }));
  assert.ok(issues.some((i) => i.startsWith('inbounds.socks.0.bind_timeout_s: ')), issues.join());
});
