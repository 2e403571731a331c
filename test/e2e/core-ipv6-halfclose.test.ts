import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startEcho, startNginx, startSshSocks, type Lab, type NginxHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, REDIRECT_PORT, startSocksgate } from './socksgate.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
let lab: Lab;
let nginx: NginxHandle;
const upstreams: Record<string, string> = {};

before(async () => {
  lab = await createLab({ ipv6: true });
  nginx = await startNginx(lab);
  await startEcho(lab, { port: 9, halfCloseEcho: true });
  const dante = await startDante(lab, { port: 1080 });
  const ssh = await startSshSocks(lab, { port: 1082 });
  upstreams.Dante = `socks5://${dante.host}:${dante.port}`;
  upstreams['ssh -D'] = `socks5://${ssh.host}:${ssh.port}`;
  await applyRedirectRules(lab, 'client');
  await applyRedirectRules(lab, 'client', { ipv6: true });
});
after(() => lab?.destroy());

const listeners = ['--redirect', `127.0.0.1:${REDIRECT_PORT}`, '--redirect', `[::1]:${REDIRECT_PORT}`];

test('IPv6 target through ip6tables REDIRECT', async () => {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstreams.Dante, '--mark', String(DAEMON_MARK), ...listeners], { name: 'sg-v6' });
  try {
    const target = `[${lab.addr.internet6}]`;
    const small = await curl(lab, 'client', `http://${target}/small.txt`);
    assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
    assert.equal(small.body, nginx.smallText);
    const seen = await curl(lab, 'client', `http://${target}/ip`);
    assert.equal(seen.body.trim(), lab.addr.proxyInternetSide6, 'the target saw the proxy');
    const v4 = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(v4.code, 0, 'IPv4 still works beside it');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const dsts = daemon.lines().filter((l) => l.msg === 'flow finished').map((l) => l.dst);
  assert.ok(dsts.includes(`[${lab.addr.internet6}]:80`), dsts.join(', '));
});

for (const name of ['Dante', 'ssh -D']) {
  test(`half-close through ${name}: the client shuts its write side and receives the whole echo`, async () => {
    const daemon = await startSocksgate(lab, 'client', ['--upstream', upstreams[name], '--mark', String(DAEMON_MARK), ...listeners], { name: `sg-half-${name.replace(/\W+/g, '')}` });
    try {
      for (const host of [lab.addr.internet, lab.addr.internet6]) {
        const run = await lab.exec('client', process.execPath, [path.join(FIXTURES, 'half-close-client.mjs'), host, '9', '300000']);
        const result = JSON.parse(run.stdout) as { sent: number; received: number; sameBytes: boolean; error: string | null };
        assert.deepEqual(result, { sent: 300000, received: 300000, sameBytes: true, error: null }, `${host}: ${daemon.proc.output()}`);
      }
    } finally {
      await daemon.stop();
    }
  });
}
