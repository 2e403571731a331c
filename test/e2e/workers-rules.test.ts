// `run --workers 2 --rules auto`: the primary applies the rules once both workers listen (TPROXY
// TCP with SO_REUSEPORT here) and flushes them when it exits.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, type Lab, type NginxHandle } from './lab.js';
import { installedCopies, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

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

test('--workers 2 --rules auto: rules applied once, TPROXY curls work, flushed at exit', async () => {
  const before = await snapshot(lab, 'client');
  const args = ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', '[::]:12347', '--rules-backend', 'nft', '--rules', 'auto', '--workers', '2'];
  const daemon = await startSocksgate(lab, 'client', args, { name: 'sg-workers-rules' });
  try {
    assert.equal(daemon.lines().filter((l) => l.msg === 'rules applied').length, 1, daemon.proc.output());
    assert.deepEqual(await installedCopies(lab, 'client'), { nftTables: 1, iptablesJumps: 0, ipRules: 2 });
    for (let i = 0; i < 10; i++) {
      const r = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.proc.output()}`);
      assert.equal(r.body, nginx.smallText);
    }
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  assert.equal(await snapshot(lab, 'client'), before, 'the rules were flushed at exit');
});
