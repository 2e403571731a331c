import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { TEST_USER } from './lab.js';
import { MAIN } from './rules-lab.js';

/**
 * `socksgate demo` builds its own namespaces from the root namespace, as a user would run it. The
 * test only reads the root namespace (rules, routes, namespaces, processes) before and after.
 */

function rootState(): string {
  const read = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
  return [read('nft', ['list', 'ruleset']), read('iptables-save', []), read('ip6tables-save', []), read('ip', ['rule']), read('ip', ['-6', 'rule']), read('ip', ['route']), read('ip', ['link'])].join('\n---\n');
}

const demoDirs = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('socksgate-demo-'));
const demoProcesses = () =>
  fs.readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('socksgate-demo-');
    } catch {
      return false;
    }
  });

test('demo runs end to end, tells the flow, upstream and bytes, and leaves no namespaces, processes, files or rules', () => {
  const before = rootState();
  const dirsBefore = demoDirs();
  const r = spawnSync(process.execPath, [MAIN, 'demo'], { encoding: 'utf8', timeout: 60_000 });
  const text = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, text);
  assert.match(r.stdout, /rules applied: (nft|iptables), host mode: ipv4 tcp redirect :12345/);
  assert.match(r.stdout, /the page: Hello from the demo internet \(198\.51\.100\.2\)\. You connected from 198\.51\.100\.1\./);
  assert.match(r.stdout, /flow 1: 192\.0\.2\.2:\d+ → 198\.51\.100\.2:80, diverted by redirect, carried by upstream socks5:\/\/192\.0\.2\.1:1080: [1-9]\d* bytes up, [1-9]\d* bytes down/);
  assert.match(r.stdout, /socksgate removed its rules/);

  const names = [...r.stdout.matchAll(/sgdemo-[0-9a-f]{6}-[cpi]/g)].map((m) => m[0]);
  assert.equal(new Set(names).size, 3, text);
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const name of names) assert.doesNotMatch(left, new RegExp(`^${name}\\b`, 'm'), `namespace ${name} left behind`);
  assert.deepEqual(demoProcesses(), [], 'demo processes left behind');
  assert.deepEqual(demoDirs(), dirsBefore, 'demo files left behind');
  assert.equal(rootState(), before, "the root namespace's network changed");
});

test('demo as a plain user says it needs root, and changes nothing', () => {
  const r = spawnSync('setpriv', [`--reuid=${TEST_USER}`, `--regid=${TEST_USER}`, '--clear-groups', process.execPath, MAIN, 'demo'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /socksgate demo needs root: it creates network namespaces/);
});
