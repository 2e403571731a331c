// `socksgate route explain` and `socksgate check` through the built CLI, as a user runs them: they
// read the config and its list files, print, and exit; no root, no namespace, nothing sent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN } from './rules-lab.js';
import { shebangFlags } from './socksgate.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-route-cli-'));

function socksgate(...args: string[]) {
  return spawnSync(process.execPath, [...shebangFlags(MAIN), MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

function configWith(nets: string, names: string): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `upstreams:
  - { name: dante, url: socks5://198.51.100.1:1080 }
route:
  rules:
    - { cidr_file: ${nets}, action: direct }
    - { domain_file: ${names}, action: reject }
`,
  );
  return file;
}

function list(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('route explain prints the matching rule as logs show it, and its target', () => {
  const nets = list('direct-nets.txt', '# direct\n192.0.2.0/24\n\n2001:db8:3::/64 # lab\n');
  const names = list('block.txt', 'full:ads.example\ntracker.example\n');
  const config = configWith(nets, names);
  const direct = socksgate('route', 'explain', '-c', config, '192.0.2.7', '--port', '443');
  assert.equal(direct.status, 0, direct.stderr);
  assert.equal(direct.stdout, `flow:   tcp 0.0.0.0:0 → 192.0.2.7:443, inbound redirect\nrule:   cidr_file=${nets} (2 entries) → direct   [route.rules.0]\ntarget: direct: socksgate connects to 192.0.2.7:443 itself, without a mark (mark: 0)\n`);
  const rejected = socksgate('route', 'explain', '-c', config, '203.0.113.9:443', '--domain', 'cdn.tracker.example');
  assert.equal(rejected.status, 0, rejected.stderr);
  assert.match(rejected.stdout, new RegExp(`^rule: {3}domain_file=${names} \\(2 entries\\) → reject {3}\\[route\\.rules\\.1\\]$`, 'm'));
  const proxied = socksgate('route', 'explain', '-c', config, '[2001:db8::1]:443');
  assert.match(proxied.stdout, /^rule: {3}final → dante {3}\[no rule matched; route\.final unset: the first upstream\]\ntarget: upstream dante \(socks5:\/\/198\.51\.100\.1:1080\), asked for \[2001:db8::1\]:443$/m);
});

test('check compiles the route: a bad list line exits 2 naming the key and file:line; a good one reports the route', () => {
  const names = list('ok-names.txt', 'ads.example\n');
  const bad = list('bad-nets.txt', '192.0.2.0/24\n# fine so far\n198.51.100.0/33\n');
  const failed = socksgate('check', '-c', configWith(bad, names));
  assert.equal(failed.status, 2);
  assert.equal(failed.stderr, `config error: route.rules.0.cidr_file: ${bad}:3: "198.51.100.0/33": IPv4 prefix length must be 0-32\n`);
  const explained = socksgate('route', 'explain', '-c', configWith(bad, names), '192.0.2.1');
  assert.equal(explained.status, 2);
  assert.match(explained.stderr, new RegExp(`${bad}:3:`));
  const ok = socksgate('check', '-c', configWith(list('good-nets.txt', '192.0.2.0/24\n'), names));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /route: 2 rules, final → dante$/m);
});

test('route explain refuses a bad DEST or flag with exit 2 and a usage hint', () => {
  const config = configWith(list('n.txt', '192.0.2.0/24\n'), list('d.txt', 'ads.example\n'));
  const r = socksgate('route', 'explain', '-c', config, '203.0.113.9', '--source', 'lan');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--source "lan": expected an IP address\nRun socksgate route explain --help/);
});
