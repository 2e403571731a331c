import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, waitForLog, type Lab, type NginxHandle } from './lab.js';
import { MAIN, snapshot } from './rules-lab.js';
import { startSocksgate, type Daemon } from './socksgate.js';

/**
 * `socksgate exec -- COMMAND`: the daemon runs in the client namespace without rules of its own;
 * exec diverts only its command's cgroup. The client has no way to the internet except through
 * the proxy, so a command that is not diverted cannot fetch anything.
 */

const CGROUP_ROOT = '/sys/fs/cgroup/unified/socksgate';

let lab: Lab;
let nginx: NginxHandle;
let daemon: Daemon;
let args: string[];
/** The daemon's control socket: this lab's own, so exec asks this daemon and no other. */
let control: string;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  args = ['--upstream', `socks5://${dante.host}:${dante.port}`, '--redirect', '127.0.0.1:12345'];
  control = path.join(lab.dir, 'control.sock');
  daemon = await startSocksgate(lab, 'client', [...args, '--control', control]);
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

/** exec mounts cgroup v2 privately on one of these where `ip netns exec` hides it. */
const mountDirs = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('socksgate-cgroup2-'));

function execCgroups(): string[] {
  try {
    return fs.readdirSync(CGROUP_ROOT).filter((name) => name.startsWith('exec-'));
  } catch {
    return [];
  }
}

const flows = () => daemon.lines().filter((l) => l.msg === 'flow finished');

for (const backend of ['nft', 'iptables'] as const) {
  test(`exec, ${backend}: the command's curl is proxied, a curl outside its cgroup is not; all is removed at exit`, async () => {
    const clean = await snapshot(lab, 'client');
    const cgroupsBefore = execCgroups();
    const execArgs = [MAIN, 'exec', ...args, '--rules-backend', backend, '--'];

    // A long-running exec keeps its rules installed while the other curls run.
    const holder = lab.spawn('client', process.execPath, [...execArgs, 'sh', '-c', 'echo started; exec sleep 60'], { name: `exec-holder-${backend}` });
    try {
      await waitForLog(holder.logPath, /^started$/m, 10_000);
      assert.ok(execCgroups().includes(`exec-${holder.pid}`), `cgroup exec-${holder.pid} missing: ${execCgroups()}`);
      const flowsBefore = flows().length;

      const outside = await curl(lab, 'client', nginx.url('/small.txt'), ['--connect-timeout', '1']);
      assert.notEqual(outside.code, 0, 'a curl outside the cgroup reached the internet');
      assert.equal(flows().length, flowsBefore, 'the daemon carried a flow from outside the cgroup');

      const inside = await lab.exec('client', process.execPath, [...execArgs, 'curl', '-sS', '--max-time', '10', nginx.url('/ip')], { allowFail: true });
      assert.equal(inside.code, 0, `${inside.stderr}\n${daemon.proc.output()}`);
      assert.equal(inside.stdout.trim(), lab.addr.proxyInternetSide, 'the target did not see the proxy');
      await daemon.waitFor(/"msg":"flow finished"/);
      assert.equal(flows().length, flowsBefore + 1);
      assert.equal(flows().at(-1)?.inbound, 'redirect');

      const failing = await lab.exec('client', process.execPath, [...execArgs, 'sh', '-c', 'exit 7'], { allowFail: true });
      assert.equal(failing.code, 7, "exec passes the command's exit status on");
    } finally {
      await lab.kill(holder);
    }
    assert.equal(holder.exitCode, 143, `the holder did not exit on SIGTERM:\n${holder.output()}`);
    assert.equal(await snapshot(lab, 'client'), clean, 'rules left behind');
    assert.deepEqual(execCgroups(), cgroupsBefore, 'cgroups left behind');
    assert.ok(!mountDirs().includes(`socksgate-cgroup2-${holder.pid}`), 'mount point left behind');
  });
}

test('exec killed with SIGKILL: the next exec removes its rules and cgroup once nothing runs in it', async () => {
  const clean = await snapshot(lab, 'client');
  const cgroupsBefore = execCgroups();
  const holder = lab.spawn('client', process.execPath, [MAIN, 'exec', ...args, '--', 'sh', '-c', 'echo started; exec sleep 60'], { name: 'exec-killed' });
  await waitForLog(holder.logPath, /^started$/m, 10_000);
  process.kill(-holder.pid!, 'SIGKILL'); // exec and its command at once: no handler runs
  await holder.exited();
  assert.notEqual(await snapshot(lab, 'client'), clean, 'a SIGKILLed exec had no rules to leave');
  assert.ok(execCgroups().includes(`exec-${holder.pid}`));

  const next = await lab.exec('client', process.execPath, [MAIN, 'exec', ...args, '--', 'true'], { allowFail: true });
  assert.equal(next.code, 0, next.stderr);
  assert.equal(await snapshot(lab, 'client'), clean, 'the dead exec\'s rules are still there');
  assert.deepEqual(execCgroups(), cgroupsBefore, 'the dead exec\'s cgroup is still there');
  assert.ok(!mountDirs().includes(`socksgate-cgroup2-${holder.pid}`), 'the dead exec\'s mount point is still there');
});

test('exec with no config, upstream or listener flag: the daemon started from flags tells it where to divert', async () => {
  const clean = await snapshot(lab, 'client');
  const cgroupsBefore = execCgroups();
  const curlIp = ['curl', '-sS', '--max-time', '10', nginx.url('/ip')];
  for (const how of [['--control', control], ['--control', 'off']]) {
    // --control off: no daemon to ask, so the default listener 127.0.0.1:12345 (this daemon's).
    const flowsBefore = flows().length;
    const res = await lab.exec('client', process.execPath, [MAIN, 'exec', ...how, '--', ...curlIp], { allowFail: true });
    assert.equal(res.code, 0, `exec ${how.join(' ')}: ${res.stderr}\n${daemon.proc.output()}`);
    assert.equal(res.stdout.trim(), lab.addr.proxyInternetSide, 'the target did not see the proxy');
    await daemon.waitFor(/"msg":"flow finished"/);
    assert.equal(flows().length, flowsBefore + 1);
  }
  assert.equal(await snapshot(lab, 'client'), clean, 'rules left behind');
  assert.deepEqual(execCgroups(), cgroupsBefore, 'cgroups left behind');

  // Where no daemon runs, exec says what to pass instead of failing on a missing upstream.
  const none = await lab.exec('internet', process.execPath, [MAIN, 'exec', '--control', path.join(lab.dir, 'none.sock'), '--', 'true'], { allowFail: true });
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, /no socksgate daemon answered on .*none\.sock \(ENOENT\) and nothing listens on 127\.0\.0\.1:12345: start `socksgate run` first, or tell exec where it runs: --control PATH .*--redirect ADDR:PORT .*-c FILE/);
});
