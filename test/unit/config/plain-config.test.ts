import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validBySchema } from '../../../src/config/load.js';
import { plainConfig } from '../../../src/config/plain-config.js';

const up = 'socks5://192.0.2.1:1080';

test('a plain command line’s config comes out as the schema makes it', () => {
  const inputs: Record<string, unknown>[] = [
    { upstreams: [up], redirect: ['127.0.0.1:12345'] },
    { upstreams: [up, 'http://user:pw@[2001:db8::1]:3128?pipelining=on'], redirect: ['127.0.0.1:1', '[::1]:2'], tproxy: ['0.0.0.0:3'], mark: 1, log: { level: 'warn' } },
    { upstreams: ['socks4a://proxy.example:1080?pipelining=off'], tproxy: ['127.0.0.1:4'], relay: 'copy', workers: 4, mark: 0xffffffff, log: { level: 'trace', format: 'json' } },
    { upstreams: [up], redirect: [], log: {} },
  ];
  for (const raw of inputs) assert.deepEqual(plainConfig(raw, 'required'), validBySchema(raw, 'required'), JSON.stringify(raw));
  assert.deepEqual(plainConfig({ redirect: ['127.0.0.1:5'] }, 'optional'), validBySchema({ redirect: ['127.0.0.1:5'] }, 'optional'));
});

test('anything else is left to the schema, which words the error with its key path', () => {
  const others: Record<string, unknown>[] = [
    {},
    { upstreams: [] },
    { upstreams: undefined },
    { upstreams: [{ url: up }] },
    { upstreams: ['ftp://192.0.2.1:21'] },
    { upstreams: [up], redirect: ['nowhere'] },
    { upstreams: [up], redirect: '127.0.0.1:1' },
    { upstreams: [up], mark: -1 },
    { upstreams: [up], mark: 1.5 },
    { upstreams: [up], workers: 0 },
    { upstreams: [up], workers: 257 },
    { upstreams: [up], relay: 'pipe' },
    { upstreams: [up], log: { level: 'loud' } },
    { upstreams: [up], log: { level: 'info', colour: true } },
    { upstreams: [up], log: 'info' },
    { upstreams: [up], dns: {} },
    { upstreams: [up], bogus: 1 },
    { upstreams: [up], mark: undefined },
  ];
  for (const raw of others) assert.equal(plainConfig(raw, 'required'), undefined, JSON.stringify(raw));
  assert.equal(plainConfig({ upstreams: [] }, 'optional'), undefined, 'a list given must name one, even when optional');
  assert.notEqual(plainConfig({}, 'optional'), undefined, 'no upstreams is plain when they are optional and left out');
});
