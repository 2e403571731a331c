import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { SECTION_SCHEMAS } from '../../../src/config/schema.js';
import { sectionDefaultsJson } from '../../../src/config/section-defaults.js';

const base = { upstreams: ['socks5://192.0.2.1:1080'] };
const emptyOf = (name: string): unknown => (name === 'groups' ? [] : {});

test('a section left out becomes what its schema makes of no input, as a section given empty does', () => {
  const leftOut = validateConfig({ ...base });
  for (const name of Object.keys(SECTION_SCHEMAS)) {
    const given = validateConfig({ ...base, [name]: emptyOf(name) });
    assert.deepEqual(given, leftOut, name);
  }
});

test('the sections’ defaults survive JSON, as the build writes them into the bundle', () => {
  const json = sectionDefaultsJson(SECTION_SCHEMAS);
  const defaults = JSON.parse(json) as Record<string, unknown>;
  for (const [name, schema] of Object.entries(SECTION_SCHEMAS)) assert.deepEqual(defaults[name], schema().parse(undefined), name);
});

test('a section left out is a fresh object each time: one config frozen leaves the next one free', () => {
  const a = validateConfig({ ...base });
  const b = validateConfig({ ...base });
  assert.notEqual(a.dns, b.dns);
  assert.deepEqual(a.dns, b.dns);
});

test('a section given is still checked, with its key path', () => {
  assert.throws(() => validateConfig({ ...base, sniff: { timeout_ms: -1 } }), (err: { issues?: { path: string }[] }) => err.issues?.[0]?.path === 'sniff.timeout_ms');
  assert.throws(() => validateConfig({ ...base, dns: { bogus: 1 } }), (err: { issues?: { path: string }[] }) => err.issues?.[0]?.path === 'dns.bogus');
});
