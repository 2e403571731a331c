import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, type Lab, type NginxHandle } from './lab.js';
import { installedCopies, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

/** `run --rules auto` + SIGHUP: a changed plan is swapped in, the policy routing stays, exit flushes it. */

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;

before(async () => {
  lab = await createLab({ ipv6: true });
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}?pipelining=on`;
});
after(() => lab?.destroy());

async function nftTable(): Promise<string> {
  return (await lab.exec('client', 'nft', ['list', 'table', 'inet', 'socksgate'])).stdout;
}

test('reload with --rules auto: a new bypass is swapped into the nft table in place, flags still override the file', async () => {
  const config = path.join(lab.dir, 'rules-reload.yaml');
  writeFileSync(config, `upstreams: ['${upstream}']\n`);
  const before = await snapshot(lab, 'client');
  const daemon = await startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--tproxy', '[::]:12347', '--rules', 'auto', '--rules-backend', 'nft', '--control', 'off'], {
    name: 'sg-rules-reload',
  });
  try {
    await daemon.waitFor(/"msg":"rules applied"/);
    const alt = await curl(lab, 'client', nginx.url('/small.txt', lab.addr.extraTarget));
    assert.equal(alt.code, 0, `${alt.stderr}\n${daemon.proc.output()}`);
    assert.doesNotMatch(await nftTable(), /203\.0\.113\.0\/24/);

    writeFileSync(config, `upstreams: ['${upstream}']\nrules:\n  bypass: [203.0.113.0/24]\n`);
    daemon.proc.kill('SIGHUP');
    await daemon.waitFor(/"msg":"rules re-applied"/);
    const reloaded = await daemon.waitFor(/"msg":"config reloaded/);
    assert.deepEqual(reloaded.changed, ['rules']);
    assert.match(await nftTable(), /203\.0\.113\.0\/24/, 'the new bypass is installed');
    assert.deepEqual(await installedCopies(lab, 'client'), { nftTables: 1, iptablesJumps: 0, ipRules: 2 }, 'one set of rules, routing untouched');

    const flowsBefore = daemon.lines().filter((l) => l.msg === 'flow finished').length;
    const bypassed = await curl(lab, 'client', nginx.url('/small.txt', lab.addr.extraTarget), ['--connect-timeout', '1']);
    assert.notEqual(bypassed.code, 0, 'bypassed: the client has no direct way there, and socksgate no longer takes it');
    const proxied = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(proxied.code, 0, `${proxied.stderr}\n${daemon.proc.output()}`);
    for (let i = 0; i < 100 && daemon.lines().filter((l) => l.msg === 'flow finished').length <= flowsBefore; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(daemon.lines().filter((l) => l.msg === 'flow finished').length, flowsBefore + 1, 'only the non-bypassed curl was a flow');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  assert.equal(await snapshot(lab, 'client'), before, 'the reloaded rules are flushed at exit');
});
