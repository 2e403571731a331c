// Groups, failover policy, with real Dante servers: a killed primary (SIGKILL) is failed over within
// the same flow, on the native (splice) and the Node (copy) path; a stalled one (SIGSTOP) within the
// handshake timeout; it is used again after its probe passes (SIGCONT); with every member down
// curl fails fast and the daemon stays up; status names each member's state.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, signalDante, startDante, startNginx, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');
const HANDSHAKE_MS = 1_000;

let lab: Lab;
let nginx: NginxHandle;

/** Signals every process of a Dante (it forks workers that carry live sessions): the whole server dies or stalls. */
before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

/** Dante logs `tcp/connect [:` for each CONNECT it opens. */
function connects(dante: SocksHandle): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes('tcp/connect [')).length;
}

function configFile(name: string, members: readonly SocksHandle[], extra: readonly string[]): string {
  const file = path.join(lab.dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'upstreams:',
      ...members.map((d) => `  - { name: d${d.port}, url: "socks5://${d.host}:${d.port}" }`),
      'groups:',
      '  - name: main',
      '    policy: failover',
      `    members: [${members.map((d) => `d${d.port}`).join(', ')}]`,
      ...extra,
      `timeouts: { connect_ms: 1000, handshake_ms: ${HANDSHAKE_MS} }`,
      'route: { final: main }',
      '',
    ].join('\n'),
  );
  return file;
}

async function withDaemon(name: string, file: string, args: readonly string[], body: (daemon: Daemon, control: string) => Promise<void>): Promise<void> {
  const control = path.join(lab.dir, `${name}.sock`);
  const daemon = await startSocksgate(lab, 'client', ['--config', file, '--mark', String(DAEMON_MARK), '--control', control, ...args], { name });
  try {
    await body(daemon, control);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
}

async function timedCurl(url: string): Promise<{ code: number; ms: number; body: string; stderr: string }> {
  const startedAt = Date.now();
  const r = await curl(lab, 'client', url, ['--max-time', '10']);
  return { ...r, ms: Date.now() - startedAt };
}

async function status(control: string): Promise<string> {
  return (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
}

for (const relay of ['splice', 'copy'] as const) {
  test(`SIGKILL of the primary (${relay} relay): the next curl succeeds through the second member; every member down: curl fails fast, the daemon stays`, async () => {
    const a = await startDante(lab, { port: relay === 'splice' ? 1080 : 1082 });
    const b = await startDante(lab, { port: relay === 'splice' ? 1081 : 1083 });
    await withDaemon(`sg-kill-${relay}`, configFile(`kill-${relay}`, [a, b], []), ['--relay', relay], async (daemon, control) => {
      const first = await timedCurl(nginx.url('/small.txt'));
      assert.equal(first.code, 0, `${first.stderr}\n${daemon.proc.output()}`);
      assert.equal(connects(a), 1);

      signalDante(a, 'SIGKILL');
      await a.proc.exited();
      for (let i = 0; i < 4; i++) {
        const r = await timedCurl(nginx.url('/small.txt'));
        assert.equal(r.code, 0, `curl ${i} after the kill: ${r.stderr}\n${daemon.proc.output()}`);
        assert.equal(r.body, nginx.smallText);
      }
      assert.equal(connects(b), 4, 'the second member carried every flow after the kill');
      const shown = await status(control);
      // Member, state, since, UDP, handshake, active flows, failures, failovers, why.
      assert.match(shown, new RegExp(`main\\s+failover\\s+d${a.port}\\s+down\\s.*\\s0\\s+3\\s+3\\s+SG_ERR_UPSTREAM_UNREACHABLE: cannot connect`), shown);
      assert.match(shown, new RegExp(`main\\s+failover\\s+d${b.port}\\s+up\\s.*\\s0\\s+0\\s+0\\s+-`), shown);

      signalDante(b, 'SIGKILL');
      await b.proc.exited();
      for (let i = 0; i < 5; i++) {
        const r = await timedCurl(nginx.url('/small.txt'));
        assert.notEqual(r.code, 0);
        assert.ok(r.ms < 1_500, `curl ${i} with every member down took ${r.ms} ms`);
      }
      assert.equal(daemon.proc.exitCode, null, 'the daemon is still running');
      const noMember = daemon.lines().filter((l) => l.reason === 'SG_ERR_NO_HEALTHY_MEMBER' && l.level >= 40);
      assert.ok(noMember.length >= 1 && noMember.length <= 2, `"no member" is logged once, not per flow: ${noMember.length}`);
    });
  });
}

test('SIGSTOP of the primary: new flows fail over within the handshake timeout; SIGCONT: they return to it after its probe', async () => {
  const a = await startDante(lab, { port: 1084 });
  const b = await startDante(lab, { port: 1085 });
  const check = ['    check: { interval_s: 1, timeout_ms: 800, tcp: "' + `${lab.addr.internet}:80` + '" }', '    failback_s: 1'];
  await withDaemon('sg-stop', configFile('stop', [a, b], check), [], async (daemon, control) => {
    const first = await timedCurl(nginx.url('/small.txt'));
    assert.equal(first.code, 0, `${first.stderr}\n${daemon.proc.output()}`);
    const viaA = connects(a);
    assert.ok(viaA >= 1);

    signalDante(a, 'SIGSTOP');
    try {
      const stalled = await timedCurl(nginx.url('/small.txt'));
      assert.equal(stalled.code, 0, `${stalled.stderr}\n${daemon.proc.output()}`);
      assert.ok(stalled.ms < HANDSHAKE_MS + 1_000, `failed over in ${stalled.ms} ms`);
      // The probe takes it down: new flows no longer wait for it.
      await daemon.waitFor(/member \\"d1084\\" is down/, 5_000);
      const fast = await timedCurl(nginx.url('/small.txt'));
      assert.equal(fast.code, 0, fast.stderr);
      assert.ok(fast.ms < 500, `with the primary down, a flow goes straight to the second member (${fast.ms} ms)`);
      assert.match(await status(control), /d1084\s+down/);
    } finally {
      signalDante(a, 'SIGCONT');
    }
    await daemon.waitFor(/member \\"d1084\\" is up again/, 5_000);
    const deadline = Date.now() + 5_000;
    const before = connects(a);
    while (connects(a) === before) {
      assert.ok(Date.now() < deadline, `flows did not return to the primary:\n${await status(control)}`);
      const r = await timedCurl(nginx.url('/small.txt'));
      assert.equal(r.code, 0, r.stderr);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});

test('optimistic data: the first bytes sent with the stalled primary\'s handshake are sent again to the second member', async () => {
  const a = await startDante(lab, { port: 1086 });
  const b = await startDante(lab, { port: 1087 });
  const file = path.join(lab.dir, 'optimistic.yaml');
  writeFileSync(
    file,
    [
      'upstreams:',
      ...[a, b].map((d) => `  - { name: d${d.port}, url: "socks5://${d.host}:${d.port}?pipelining=on" }`),
      'groups:',
      `  - { name: main, members: [d${a.port}, d${b.port}] }`,
      `timeouts: { connect_ms: 1000, handshake_ms: ${HANDSHAKE_MS} }`,
      'optimistic_data: { enabled: true }',
      'route: { final: main }',
      '',
    ].join('\n'),
  );
  await withDaemon('sg-optimistic', file, [], async (daemon) => {
    signalDante(a, 'SIGSTOP');
    try {
      const r = await timedCurl(nginx.url('/small.txt'));
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.proc.output()}`);
      assert.equal(r.body, nginx.smallText);
      assert.ok(r.ms < HANDSHAKE_MS + 1_000, `failed over in ${r.ms} ms`);
      const finished = await daemon.waitFor(/"msg":"flow finished"/);
      assert.ok(Number(finished.earlyBytes) > 0, `the request went in the handshake's write: ${JSON.stringify(finished)}`);
      assert.equal(connects(b), 1);
    } finally {
      signalDante(a, 'SIGCONT');
    }
  });
});
