import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';


function fileWith(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

test('a minimal file gets defaults and a default REDIRECT listener', () => {
  const config = loadConfig(fileWith('upstreams: [socks5://192.0.2.1:1080]\n'));
  assert.equal(config.upstreams[0].protocol, 'socks5');
  assert.deepEqual(config.upstreams[0].server, { kind: 'ipv4', host: '192.0.2.1', port: 1080 });
  assert.equal(config.upstreams[0].pipelining, 'auto');
  assert.deepEqual(config.redirect, [{ kind: 'ipv4', host: '127.0.0.1', port: 12345 }]);
  assert.equal(config.timeouts.connect_ms, 10_000);
  assert.equal(config.log.level, 'info');
  assert.ok(Object.isFrozen(config));
});

test('flags override the file', () => {
  const file = fileWith('upstreams: [socks5://192.0.2.1:1080]\nmark: 1\nlog: { level: warn }\n');
  const config = loadConfig(file, { upstream: ['http://198.51.100.1:3128'], mark: 2, logLevel: 'debug', tproxy: ['[::]:12347'] });
  assert.equal(config.upstreams.length, 1);
  assert.equal(config.upstreams[0].protocol, 'http');
  assert.equal(config.mark, 2);
  assert.equal(config.log.level, 'debug');
  assert.deepEqual(config.redirect, []);
  assert.deepEqual(config.tproxy, [{ kind: 'ipv6', host: '::', port: 12347 }]);
});

test('unknown keys are named with their dotted path', () => {
  const issues = configIssues(() => validateConfig({ upstreams: ['socks5://h:1'], timeouts: { conect_ms: 5 }, bogus: 1 }));
  assert.ok(issues.includes('timeouts.conect_ms: unknown key'), issues.join('\n'));
  assert.ok(issues.includes('bogus: unknown key'), issues.join('\n'));
});

test('wrong types and bad URLs name the path and what was expected', () => {
  const issues = configIssues(() =>
    validateConfig({ upstreams: ['socks5://h:1', { url: 'ftp://x:21' }, { url: 'socks5://h:1', pipelining: 'maybe' }], mark: 'x', redirect: ['1.2.3.4'] }),
  );
  const text = issues.join('\n');
  assert.match(text, /^upstreams\.1\.url: .*scheme must be one of/m);
  assert.match(text, /^upstreams\.2\.pipelining: /m);
  assert.match(text, /^mark: .*number/m);
  assert.match(text, /^redirect\.0: .*missing port/m);
});

test('no upstream at all is an error, said the same whether the key is missing or the list empty', () => {
  assert.deepEqual(configIssues(() => validateConfig({})), ['upstreams: at least one upstream is required']);
  assert.deepEqual(configIssues(() => validateConfig({ upstreams: [] })), ['upstreams: at least one upstream is required']);
  assert.match(configIssues(() => validateConfig({ upstreams: 5 }))[0], /^upstreams: .*expected array/);
});

test('passwords come from a file or an environment variable, never shown in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-secret-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  const fromFile = validateConfig({ upstreams: [{ url: 'socks5://alice@h:1080', password_file: join(dir, 'pw') }] });
  assert.equal(fromFile.upstreams[0].password, 's3cret');
  const fromEnv = validateConfig({ upstreams: [`socks5://alice@h:1080?password_env=SG_PW`] }, { SG_PW: 'envpw' });
  assert.equal(fromEnv.upstreams[0].password, 'envpw');
  assert.equal(fromEnv.upstreams[0].name, 'socks5://h:1080');
  const missing = configIssues(() => validateConfig({ upstreams: [{ url: 'socks5://alice@h:1080', password_env: 'NOPE' }] }, {}));
  assert.deepEqual(missing, ['upstreams.0.password_env: environment variable NOPE is not set']);
  const bad = configIssues(() => validateConfig({ upstreams: ['socks5://alice:hunter2@h:1080?pipe=1'] }));
  assert.match(bad[0], /^upstreams\.0\.url: unknown URL parameter "pipe"/);
  const badUrl = configIssues(() => validateConfig({ upstreams: ['gopher://alice:hunter2@h:1080'] }));
  assert.ok(!badUrl.join('').includes('hunter2'), badUrl.join(''));
});

test('unreadable or non-YAML files are config errors', () => {
  assert.match(configIssues(() => loadConfig('/nonexistent/sg.yaml'))[0], /cannot read config file/);
  assert.match(configIssues(() => loadConfig(fileWith('upstreams: [\n')))[0], /not valid YAML/);
  assert.match(configIssues(() => loadConfig(fileWith('- a\n- b\n')))[0], /mapping/);
});

test('a loaded config is frozen all the way down, and its URLs and addresses are parsed once, in it', () => {
  const config = loadConfig(fileWith('upstreams: [socks5://192.0.2.1:1080]\nredirect: ["127.0.0.1:12345"]\ndns: { listen: "127.0.0.1:5353", upstreams: ["udp://192.0.2.53"] }\n'));
  assert.ok(Object.isFrozen(config.upstreams[0].server));
  assert.ok(Object.isFrozen(config.redirect[0]));
  assert.ok(Object.isFrozen(config.dns.upstreams[0].server));
  assert.ok(Object.isFrozen(config.rules.bypass));
  assert.throws(() => (config.rules.bypass as string[]).push('192.0.2.0/24'), TypeError);
  assert.deepEqual(config.redirect[0], { kind: 'ipv4', host: '127.0.0.1', port: 12345 });
  assert.deepEqual(config.dns.upstreams[0], { transport: 'udp', server: { kind: 'ipv4', host: '192.0.2.53', port: 53 } });
});

test('exec may name no upstream (it dials none); every other command must, and exec still checks the rest', () => {
  assert.match(configIssues(() => loadConfig(undefined, {})).join('\n'), /^upstreams: /);
  const config = loadConfig(undefined, { redirect: ['127.0.0.1:12346'] }, {}, 'optional');
  assert.deepEqual(config.upstreams, []);
  assert.deepEqual(config.redirect, [{ kind: 'ipv4', host: '127.0.0.1', port: 12346 }]);
  assert.equal(loadConfig(undefined, { upstream: ['socks5://192.0.2.1:1080'] }, {}, 'optional').upstreams.length, 1);
  assert.deepEqual(configIssues(() => loadConfig(undefined, { mark: -1 }, {}, 'optional')), ['mark: Too small: expected number to be >=0']);
  assert.match(configIssues(() => validateConfig({ upstreams: [] }, {}, 'optional')).join('\n'), /^upstreams: at least one upstream/);
});

test('an empty unknown key is named too, not left as a bare "unknown key" (found by fuzzing)', () => {
  assert.deepEqual(configIssues(() => validateConfig({ upstreams: ['socks5://h:1'], '': 1, dns: { '': 2 } })).sort(), ['"": unknown key', 'dns."": unknown key']);
  assert.deepEqual(configIssues(() => loadConfig(fileWith('upstreams: [socks5://h:1]\n? \n'))), ['"": unknown key']);
});
