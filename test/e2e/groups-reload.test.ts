// SIGHUP with a group's members and policy changed: a live TCP flow stays on the member it uses
// (its Dante never sees it end), new flows follow the new group; status shows the new group.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startEcho, startNginx, waitForLog, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate } from './socksgate.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');
const ECHO_PORT = 7;

let lab: Lab;
let nginx: NginxHandle;
let a: SocksHandle;
let b: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startEcho(lab, { port: ECHO_PORT });
  a = await startDante(lab, { port: 1080 });
  b = await startDante(lab, { port: 1081 });
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

/** Dante logs `tcp/connect [:` when a CONNECT opens and `tcp/connect ]:` when it ends. */
function logged(dante: SocksHandle, mark: '[' | ']', dst: string): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes(`tcp/connect ${mark}`) && l.includes(` ${dst}`)).length;
}

function groupConfig(policy: string, members: readonly string[]): string {
  return [
    'upstreams:',
    `  - { name: a, url: "socks5://${a.host}:${a.port}" }`,
    `  - { name: b, url: "socks5://${b.host}:${b.port}" }`,
    'groups:',
    `  - { name: main, policy: ${policy}, members: [${members.join(', ')}] }`,
    'route: { final: main }',
    '',
  ].join('\n');
}

test('SIGHUP with changed members and policy: the live flow stays on its member, new flows use the new group', async () => {
  const file = path.join(lab.dir, 'reload-groups.yaml');
  writeFileSync(file, groupConfig('failover', ['a', 'b']));
  const control = path.join(lab.dir, 'reload-groups.sock');
  const daemon = await startSocksgate(lab, 'client', ['--config', file, '--mark', String(DAEMON_MARK), '--control', control], { name: 'sg-reload-groups' });
  const echoDst = `${lab.addr.internet}.${ECHO_PORT}`;
  const flow = lab.spawn('client', 'socat', ['-', `TCP:${lab.addr.internet}:${ECHO_PORT}`], { name: 'socat-long', stdin: 'pipe' });
  try {
    flow.stdin!.write('before\n');
    await waitForLog(flow.logPath, 'before', 5_000);
    assert.equal(logged(a, '[', echoDst), 1, 'the live flow is on a');
    const live = (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
    // Member, state, since, UDP, handshake, active flows, failures, failovers, why.
    assert.match(live, /main\s+failover\s+a\s+up\s.*ms\s+1\s+0\s+0\s+-/, live);

    writeFileSync(file, groupConfig('round-robin', ['b']));
    daemon.proc.kill('SIGHUP');
    await daemon.waitFor(/config reloaded: groups changed/);

    flow.stdin!.write('after\n');
    await waitForLog(flow.logPath, 'after', 5_000);
    assert.equal(logged(a, ']', echoDst), 0, 'a never saw the live flow end');
    const viaB = logged(b, '[', `${lab.addr.internet}.80`);
    const r = await curl(lab, 'client', nginx.url('/small.txt'), ['--max-time', '10']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(logged(b, '[', `${lab.addr.internet}.80`), viaB + 1, 'a new flow goes through the new group (b only)');
    const shown = (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
    assert.match(shown, /main\s+round-robin\s+b\s+up/, shown);
    assert.doesNotMatch(shown, /main\s+\S+\s+a\s/, shown);
  } finally {
    flow.stdin!.end();
    await lab.kill(flow);
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
});
