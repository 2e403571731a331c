import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startNginx, type Lab, type NginxHandle } from './lab.js';
import { routeClientDirectly } from './route-lab.js';
import { rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK } from './socksgate.js';

/**
 * Kernel direct lists: with the rules applied and no daemon running, a network listed by a direct
 * cidr rule is still reachable (the kernel lets it through), the rest is diverted to a dead
 * listener and fails. A 100,000-line list applies and flushes back to the exact previous ruleset.
 */

let lab: Lab;
let nginx: NginxHandle;

before(async () => {
  lab = await createLab({ ipv6: true });
  // The proxy namespace forwards, so whatever the kernel does not divert reaches the internet.
  await routeClientDirectly(lab);
  nginx = await startNginx(lab);
});
after(() => lab?.destroy());

const CASES = [
  { backend: 'nft', listeners: ['--tproxy', '[::]:12347'] },
  { backend: 'iptables', listeners: ['--redirect', '127.0.0.1:12345', '--redirect', '[::1]:12345'] },
] as const;

function config(name: string, rulesYaml: string): string {
  const file = path.join(lab.dir, name);
  writeFileSync(file, `upstreams: ['socks5://203.0.113.9:1080']\nroute:\n  rules:\n${rulesYaml}`);
  return file;
}

/** 100,000 /24s spread over 10.0.0.0/8..; only ever put in a set, never sent traffic. */
function bigList(): string {
  const file = path.join(lab.dir, 'big-direct.txt');
  const lines: string[] = ['# generated'];
  for (let i = 0; i < 100_000; i++) lines.push(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

for (const { backend, listeners } of CASES) {
  const args = (file: string) => ['-c', file, '--mark', String(DAEMON_MARK), ...listeners, '--rules-backend', backend];

  test(`${backend}: with the daemon stopped, the listed network is reached directly and the rest is not`, async () => {
    const unlisted = await curl(lab, 'client', `http://[${lab.addr.internet6}]/small.txt`);
    assert.equal(unlisted.code, 0, `without rules the unlisted address is reachable: ${unlisted.stderr}`);
    const file = config(`direct-${backend}.yaml`, `    - { cidr: ['${lab.addr.internet}/32'], action: direct }\n`);
    const before = await snapshot(lab, 'client');
    await rules(lab, 'client', 'apply', args(file));
    try {
      const listed = await curl(lab, 'client', `http://${lab.addr.internet}/small.txt`);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(listed.body, nginx.smallText);
      const other = await curl(lab, 'client', `http://[${lab.addr.internet6}]/small.txt`, ['--max-time', '5']);
      assert.notEqual(other.code, 0, 'an unlisted address must be diverted (to no listener)');
    } finally {
      await rules(lab, 'client', 'flush', args(file));
    }
    assert.equal(await snapshot(lab, 'client'), before);
  });

  test(`${backend}: a 100,000-line list applies, prints summarised, and flushes back to the previous ruleset`, async () => {
    const file = config(`big-${backend}.yaml`, `    - { cidr_file: ${bigList()}, action: direct }\n`);
    const before = await snapshot(lab, 'client');
    const printed = await rules(lab, 'client', 'print', args(file));
    assert.ok(printed.stdout.length < 20_000, `print is ${printed.stdout.length} characters`);
    assert.match(printed.stdout, /100000 networks|add SOCKSGATE_DIRECT4_NEW: 100000 elements/);
    const started = performance.now();
    await rules(lab, 'client', 'apply', args(file));
    process.stdout.write(`# ${backend}: 100,000-line list applied in ${((performance.now() - started) / 1000).toFixed(2)} s (CLI start-up included)\n`);
    await rules(lab, 'client', 'flush', args(file));
    assert.equal(await snapshot(lab, 'client'), before);
  });
}
