// doctor's lines for chains and groups (src/cli/doctor/groups.ts), from the findings of each upstream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupFindings } from '../../../src/cli/doctor/groups.js';
import { finding } from '../../../src/cli/doctor/report.js';
import { validateConfig } from '../../../src/config/load.js';

const config = validateConfig({
  upstreams: [
    { name: 'a', url: 'socks5://198.51.100.1:1080' },
    { name: 'b', url: 'socks5://198.51.100.1:1081' },
    { name: 'h', url: 'http://198.51.100.1:8888' },
    { name: 'a-b', chain: ['a', 'b'] },
    { name: 'a-h', chain: ['a', 'h'] },
  ],
  groups: [
    { name: 'main', policy: 'failover', members: ['a-h', 'a-b'] },
    { name: 'top', policy: 'round-robin', members: ['main', 'h'] },
  ],
});

const works = (name: string, udp: boolean) => [finding('ok', `upstream ${name}: CONNECT`, 'works'), finding(udp ? 'ok' : 'warn', `upstream ${name}: UDP ASSOCIATE`, udp ? 'works' : 'refused')];

test('chains are judged by their hops and groups by their members, chains included, in dependency order', () => {
  const byUpstream = new Map([
    ['a', works('a', true)],
    ['b', works('b', true)],
    ['h', [finding('FAIL', 'upstream h: reach', 'connection refused')]],
  ]);
  const lines = groupFindings(config, byUpstream).map((f) => `${f.status} ${f.subject}: ${f.text}`);
  assert.deepEqual(lines, [
    'ok chain a-b (a → b): every hop works',
    'FAIL chain a-h (a → h): h is broken (reach: connection refused)',
    'warn group main (failover): a-h is broken (hop h broken); 1 of 2 members work',
    'warn group top (round-robin): h is broken (reach: connection refused); 1 of 2 members work',
  ]);
});

test('a chain through a hop without UDP says so, and a group notes that UDP flows skip it', () => {
  const byUpstream = new Map([
    ['a', works('a', true)],
    ['b', works('b', false)],
    ['h', works('h', false)],
  ]);
  const lines = groupFindings(config, byUpstream).map((f) => `${f.status} ${f.subject}: ${f.text}`);
  assert.equal(lines[0], 'ok chain a-b (a → b): every hop works; not every hop carries UDP (its UDP flows are dropped)');
  assert.equal(lines[2], 'ok group main (failover): all 2 members work; no UDP through a-h, a-b (UDP flows skip them)');
});
