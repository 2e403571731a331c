import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, type Lab, type NginxHandle } from './lab.js';
import { installedCopies, rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

/** `run --rules auto`: rules live as long as the daemon; a SIGKILLed daemon's set is replaced. */

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;

before(async () => {
  lab = await createLab({ ipv6: true });
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
});
after(() => lab?.destroy());

const ONE_SET = {
  nft: { nftTables: 1, iptablesJumps: 0, ipRules: 2 },
  iptables: { nftTables: 0, iptablesJumps: 4, ipRules: 2 },
};

for (const backend of ['nft', 'iptables'] as const) {
  test(`run --rules auto, ${backend}: SIGTERM removes the rules; after SIGKILL, apply leaves exactly one set`, async () => {
    const args = ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', '[::]:12347', '--rules-backend', backend];
    const clean = await snapshot(lab, 'client');

    const first = await startSocksgate(lab, 'client', [...args, '--rules', 'auto'], { name: `sg-auto-${backend}` });
    const r = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(r.code, 0, `${r.stderr}\n${first.proc.output()}`);
    const installed = await snapshot(lab, 'client');
    assert.deepEqual(await installedCopies(lab, 'client'), ONE_SET[backend]);
    assert.equal(await first.stop(), 0);
    assert.ok(first.lines().some((l) => l.msg === 'rules flushed'));
    assert.equal(await snapshot(lab, 'client'), clean, 'SIGTERM left rules behind');

    const crashed = await startSocksgate(lab, 'client', [...args, '--rules', 'auto'], { name: `sg-crash-${backend}` });
    crashed.proc.kill('SIGKILL');
    await crashed.proc.exited();
    assert.equal(await snapshot(lab, 'client'), installed, 'the rules of the killed daemon stay until the next apply or flush');

    await rules(lab, 'client', 'apply', args);
    assert.deepEqual(await installedCopies(lab, 'client'), ONE_SET[backend]);
    assert.equal(await snapshot(lab, 'client'), installed);
    await rules(lab, 'client', 'flush', args);
    assert.equal(await snapshot(lab, 'client'), clean);
  });
}
