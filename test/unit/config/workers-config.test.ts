import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';

const base = { upstreams: ['socks5://192.0.2.1:1080'] };


test('workers defaults to 1 and takes the flag over the file', () => {
  assert.equal(validateConfig({ ...base }).workers, 1);
  assert.equal(validateConfig({ ...base, workers: 4 }).workers, 4);
  assert.equal(loadConfig(undefined, { upstream: base.upstreams, workers: 2 }).workers, 2);
});

test('workers must be an integer of at least 1', () => {
  for (const workers of [0, -1, 1.5, '2']) {
    const issues = configIssues(() => validateConfig({ ...base, workers }));
    assert.equal(issues.length, 1, issues.join('\n'));
    assert.match(issues[0] ?? '', /^workers: /);
  }
});

test('workers > 1 with fake-IP DNS is an error naming both keys', () => {
  const fakeIp = { listen: '127.0.0.53:53', upstreams: ['tcp://192.0.2.53'], fake_ip: { enabled: true } };
  const issues = configIssues(() => validateConfig({ ...base, workers: 2, dns: fakeIp }));
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(issues[0] ?? '', /^workers: .*dns\.fake_ip\.enabled/);
  assert.equal(validateConfig({ ...base, workers: 1, dns: fakeIp }).workers, 1);
  assert.equal(validateConfig({ ...base, workers: 2, dns: { ...fakeIp, fake_ip: { enabled: false } } }).dns.listen, '127.0.0.53:53');
});
