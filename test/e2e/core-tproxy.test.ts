import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, sha256File, startDante, startNginx, type Lab, type NginxHandle } from './lab.js';
import { applyTproxyRules, DAEMON_MARK, startSocksgate, TPROXY_PORT } from './socksgate.js';

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;

before(async () => {
  lab = await createLab({ ipv6: true });
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
  await applyTproxyRules(lab, 'client');
});
after(() => lab?.destroy());

test('TPROXY TCP, IPv4 and IPv6, through one dual-stack transparent listener', async () => {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`], { name: 'sg-tproxy' });
  try {
    for (const host of [lab.addr.internet, `[${lab.addr.internet6}]`]) {
      const small = await curl(lab, 'client', `http://${host}/small.txt`);
      assert.equal(small.code, 0, `${host}: ${small.stderr}\n${daemon.proc.output()}`);
      assert.equal(small.body, nginx.smallText);
      const file = path.join(lab.dir, `tproxy-${host.replace(/\W+/g, '')}.bin`);
      const big = await curl(lab, 'client', `http://${host}/10mb.bin`, ['-o', file]);
      assert.equal(big.code, 0, big.stderr);
      assert.equal(await sha256File(file), nginx.bigSha256);
    }
    const seen = await curl(lab, 'client', `http://[${lab.addr.internet6}]/ip`);
    assert.equal(seen.body.trim(), lab.addr.proxyInternetSide6);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const flows = daemon.lines().filter((l) => l.msg === 'flow finished');
  assert.ok(flows.every((l) => l.inbound === 'tproxy'));
  assert.deepEqual(new Set(flows.map((l) => l.dst)), new Set([`${lab.addr.internet}:80`, `[${lab.addr.internet6}]:80`]));
});
