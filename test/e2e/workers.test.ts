// `run --workers 2`: two processes with SO_REUSEPORT listeners share the REDIRECT port and the
// TPROXY UDP port; SIGTERM drains both and the primary exits 0 with nothing left behind.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, startUdpEcho, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { udpClient } from './udp-helpers.js';

const ECHO = 7001;

let lab: Lab;
let nginx: NginxHandle;
let dante: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startUdpEcho(lab, { ports: [ECHO] });
  dante = await startDante(lab, { port: 1080 });
  await applyRedirectRules(lab, 'client');
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

function workerPids(daemon: Daemon): number[] {
  return daemon.lines().filter((l) => l.msg === 'worker listening').map((l) => l.workerPid as number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Bounded wait until `count` log lines carry `msg`. */
async function waitForCount(daemon: Daemon, msg: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (daemon.lines().filter((l) => l.msg === msg).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`fewer than ${count} "${msg}" lines:\n${daemon.proc.output()}`);
}

async function stopAndCheck(daemon: Daemon): Promise<void> {
  const pids = workerPids(daemon);
  assert.ok(pids.length >= 2, daemon.proc.output());
  assert.equal(await daemon.stop(), 0, daemon.proc.output());
  assert.deepEqual(pids.filter(alive), [], 'no worker outlives the primary');
}

test('--workers 2, REDIRECT: 40 curls through Dante succeed, served by two worker processes', async () => {
  const upstream = `socks5://${dante.host}:${dante.port}`;
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--workers', '2'], { name: 'sg-workers-tcp' });
  try {
    for (let i = 0; i < 40; i++) {
      const res = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(res.code, 0, `${res.stderr}\n${daemon.proc.output()}`);
      assert.equal(res.body, nginx.smallText);
    }
    // Flows log when they finish: wait for the last one before counting.
    for (let i = 0; i < 100 && daemon.lines().filter((l) => l.msg === 'flow finished').length < 40; i++) await new Promise((r) => setTimeout(r, 50));
    const flows = daemon.lines().filter((l) => l.msg === 'flow finished');
    assert.equal(flows.length, 40, daemon.proc.output());
    const pids = new Set(flows.map((l) => l.pid));
    assert.equal(pids.size, 2, `flows handled by ${[...pids].join(', ')}`);
    assert.ok(!pids.has(daemon.proc.pid), 'the primary serves no flow');
  } finally {
    await stopAndCheck(daemon);
  }
});

test('--workers 2, TPROXY UDP: an echo exchange works', async () => {
  const upstream = `socks5://${dante.host}:${dante.port}`;
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `0.0.0.0:${TPROXY_PORT}`, '--workers', '2'], {
    name: 'sg-workers-udp',
  });
  try {
    const res = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 200, minSize: 1, maxSize: 1400 }] });
    assert.equal(res.received, 200, `${JSON.stringify(res)}\n${daemon.proc.output()}`);
    assert.equal(res.corrupted, 0);
    assert.deepEqual(res.wrongSource, []);
  } finally {
    await stopAndCheck(daemon);
  }
});

test('--workers 2: SIGHUP reloads every worker; a killed worker is restarted and serves', async () => {
  const upstream = `socks5://${dante.host}:${dante.port}`;
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--workers', '2'], { name: 'sg-workers-restart' });
  try {
    daemon.proc.kill('SIGHUP');
    await waitForCount(daemon, 'reload: config unchanged', 2);
    const [victim] = workerPids(daemon);
    assert.ok(victim !== undefined);
    process.kill(victim, 'SIGKILL');
    await waitForCount(daemon, 'worker exited unexpectedly: restarting it', 1);
    await waitForCount(daemon, 'worker listening', 3);
    for (let i = 0; i < 10; i++) {
      const res = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(res.code, 0, `${res.stderr}\n${daemon.proc.output()}`);
    }
  } finally {
    await stopAndCheck(daemon);
  }
});
