import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  createLab,
  curl,
  sha256File,
  startDante,
  startMicrosocks,
  startNginx,
  startSshSocks,
  startTinyproxy,
  startV2ray,
  TEST_PASS,
  TEST_USER,
  type Lab,
  type NginxHandle,
} from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate } from './socksgate.js';

let lab: Lab;
let nginx: NginxHandle;
const upstreams: Record<string, string> = {};

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  const danteAuth = await startDante(lab, { port: 1090, auth: 'userpass' });
  const micro = await startMicrosocks(lab, { port: 1081, user: TEST_USER, pass: TEST_PASS });
  const ssh = await startSshSocks(lab, { port: 1082 });
  const tiny = await startTinyproxy(lab, { port: 8888, user: TEST_USER, pass: TEST_PASS });
  const v2ray = await startV2ray(lab, { port: 1083 });
  Object.assign(upstreams, {
    'Dante, no auth': `socks5://${dante.host}:${dante.port}`,
    'Dante, username/password (from env)': `socks5://${TEST_USER}@${danteAuth.host}:${danteAuth.port}?password_env=SG_PASS`,
    'microsocks, username/password': `socks5://${TEST_USER}:${TEST_PASS}@${micro.host}:${micro.port}`,
    'OpenSSH ssh -D': `socks5://${ssh.host}:${ssh.port}`,
    'SOCKS4 via Dante': `socks4://nobody@${dante.host}:${dante.port}`,
    'SOCKS4a via ssh -D': `socks4a://nobody@${ssh.host}:${ssh.port}`,
    'HTTP CONNECT via tinyproxy': `http://${TEST_USER}:${TEST_PASS}@${tiny.host}:${tiny.port}`,
    'v2ray socks inbound': `socks5://${v2ray.host}:${v2ray.port}`,
  });
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

for (const name of [
  'Dante, no auth',
  'Dante, username/password (from env)',
  'microsocks, username/password',
  'OpenSSH ssh -D',
  'SOCKS4 via Dante',
  'SOCKS4a via ssh -D',
  'HTTP CONNECT via tinyproxy',
  'v2ray socks inbound',
]) {
  test(`plain curl through ${name}: small page and 10 MB intact, target sees the proxy`, async () => {
    const daemon = await startSocksgate(lab, 'client', ['--upstream', upstreams[name], '--mark', String(DAEMON_MARK)], {
      name: `sg-${name.replace(/\W+/g, '-')}`,
      env: { SG_PASS: TEST_PASS },
    });
    try {
      const small = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
      assert.equal(small.body, nginx.smallText);

      const file = path.join(lab.dir, `big-${name.replace(/\W+/g, '-')}.bin`);
      const big = await curl(lab, 'client', nginx.url('/10mb.bin'), ['-o', file]);
      assert.equal(big.code, 0, big.stderr);
      assert.equal(await sha256File(file), nginx.bigSha256);

      const seen = await curl(lab, 'client', nginx.url('/ip'));
      assert.equal(seen.body.trim(), lab.addr.proxyInternetSide, 'the target saw the proxy, not the client');
      const accessLog = readFileSync(nginx.accessLog, 'utf8');
      assert.ok(!accessLog.includes(lab.addr.client), 'the client address never reached the target');

      const cmdline = readFileSync(`/proc/${daemon.proc.pid}/cmdline`, 'utf8');
      assert.ok(!cmdline.includes(TEST_PASS), `the password never shows in ps: ${cmdline}`);
    } finally {
      assert.equal(await daemon.stop(), 0, 'SIGTERM stops the daemon cleanly');
    }
    const flows = daemon.lines().filter((l) => l.msg === 'flow finished');
    assert.equal(flows.length, 3, `one debug line per finished flow:\n${daemon.proc.output()}`);
    assert.ok(flows.every((l) => l.outcome === 'closed' && typeof l.up === 'number' && typeof l.down === 'number' && typeof l.ms === 'number'));
    const logText = daemon.lines().map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!logText.includes(TEST_PASS), `the password never shows in logs: ${logText}`);
  });
}

for (const [name, verdict] of [
  ['Dante, no auth', 'pipelined'],
  ['Dante, username/password (from env)', 'pipelined'],
  ['OpenSSH ssh -D', 'pipelined'],
  ['v2ray socks inbound', 'pipelined'],
  ['microsocks, username/password', 'stepwise'],
] as const) {
  test(`auto pipelining chooses ${verdict} for ${name}, and flows work either way`, async () => {
    const daemon = await startSocksgate(lab, 'client', ['--upstream', upstreams[name], '--mark', String(DAEMON_MARK)], {
      name: `sg-auto-${name.replace(/\W+/g, '-')}`,
      env: { SG_PASS: TEST_PASS },
    });
    try {
      const decision = await daemon.waitFor(/"pipelining":"/, 8_000);
      assert.equal(decision.pipelining, verdict);
      for (let i = 0; i < 3; i++) {
        const small = await curl(lab, 'client', nginx.url('/small.txt'));
        assert.equal(small.code, 0, small.stderr);
      }
    } finally {
      await daemon.stop();
    }
  });
}
