// Out of file descriptors (EMFILE) at every step of a TCP flow, the daemon started under
// `prlimit --nofile=64:64` (soft and hard: it raises its soft limit to the hard one), its soft limit
// then lowered to the exact fd at which each step fails (`prlimit --pid`):
//   accept   every fd held by idle flows: a new connection waits in the backlog, and is served as
//            soon as one flow closes;
//   dial     one fd left: the connection is accepted, the socket to the upstream cannot be made;
//   pipe     two fds left, the splice relay's pipe pool empty: accepted and dialed, no pipe;
//   dup      two fds left on the Node socket path (optimistic data, splice relay): accepted and
//            dialed, the relay cannot duplicate the fds.
// Each failed flow is reset at once (not left hanging), the daemon stays up, and once the flows
// are closed a fresh curl works and the fds are back at their baseline.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, curl, limitLeaving, pollFds, settledFdCounts, startDante, startEcho, startNginx, type Lab, type LabProcess, type NginxHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';
import { assertDaemonWhole, assertResetEmpty, assertSeenInTime, fdBaseline, startFaultClients, type FaultClients } from './faults-helpers.js';

const LIMIT = 64;
const ECHO = 7;

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;
let clients: FaultClients;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startEcho(lab, { port: ECHO });
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
  await applyRedirectRules(lab, 'client');
  clients = await startFaultClients(lab);
});
after(() => lab?.destroy());

async function startLimited(name: string, extra: string[] = []): Promise<Daemon> {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--control', 'off', ...extra], {
    name,
    wrapper: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`, '--'],
  });
  const running = await daemon.waitFor(/"msg":"socksgate running"/);
  if (running.fileLimit !== LIMIT) {
    await daemon.stop();
    assert.fail(`the daemon runs under the low limit: fileLimit ${JSON.stringify(running.fileLimit)}`);
  }
  return daemon;
}

/** Lowers the daemon's soft RLIMIT_NOFILE so that it can open exactly `free` more fds. */
async function leaveFree(daemon: Daemon, free: number): Promise<void> {
  await settledFdCounts(daemon.proc.pid!);
  await setSoftLimit(daemon, limitLeaving(daemon.proc.pid!, free));
}

/** The soft limit only: raising a hard limit back takes CAP_SYS_RESOURCE, which a container may lack. */
async function setSoftLimit(daemon: Daemon, soft: number): Promise<void> {
  await lab.exec('client', 'prlimit', ['--pid', String(daemon.proc.pid), `--nofile=${soft}:${LIMIT}`]);
}

/** An idle proxied connection (socat to the echo server), open once its first line came back. */
async function holdFlow(name: string): Promise<LabProcess> {
  const socat = lab.spawn('client', 'socat', ['-T', '60', 'STDIO', `TCP:${lab.addr.internet}:${ECHO}`], { name, stdin: 'pipe' });
  socat.stdin!.write('hold\n');
  const deadline = Date.now() + 5_000;
  while (!socat.output().includes('hold')) {
    if (Date.now() > deadline) throw new Error(`${name}: no echo through the daemon\n${socat.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return socat;
}

async function expectServes(daemon: Daemon): Promise<void> {
  const ok = await curl(lab, 'client', nginx.url('/small.txt'));
  assert.equal(ok.code, 0, `a fresh curl works: ${ok.stderr}\n${daemon.proc.output()}`);
  assert.equal(ok.body, nginx.smallText);
}

/** A flow whose step fails for want of an fd: reset at once with nothing received, reason logged. */
async function expectResetForWantOfFd(daemon: Daemon, logged: RegExp): Promise<void> {
  const out = await clients.run({ host: lab.addr.internet, port: 80, send: 'GET /small.txt HTTP/1.0\r\n\r\n', timeoutMs: 10_000 });
  assertResetEmpty(out, daemon.proc.output());
  assertSeenInTime(out, out.connectedAt ?? out.startedAt, 'EMFILE');
  await daemon.waitFor(logged);
}

test(`accept: with every fd of ${LIMIT} held by idle flows a new connection waits, and is served once one closes`, async (t) => {
  const daemon = await startLimited('sg-emfile-accept');
  const held: LabProcess[] = [];
  try {
    await expectServes(daemon); // the pipe pool holds what it keeps from here on
    const baseline = await fdBaseline(daemon);
    // As many idle flows (2 fds each) as fit under the limit, and the limit lowered to the last one.
    const flows = Math.floor((LIMIT - baseline.total) / 2);
    await leaveFree(daemon, 2 * flows);
    for (let i = 0; i < flows; i++) held.push(await holdFlow(`hold-${i}`));
    assert.equal(limitLeaving(daemon.proc.pid!, 0), Number((await lab.exec('client', 'prlimit', ['--pid', String(daemon.proc.pid), '--nofile', '--noheadings', '--output=SOFT'])).stdout.trim()), 'every fd is in use');

    const waiting = curl(lab, 'client', nginx.url('/small.txt'), ['--max-time', '15']);
    await daemon.waitFor(/"reason":"EMFILE".*listener error/);
    await new Promise((r) => setTimeout(r, 1_000));
    const acceptErrors = daemon.lines().filter((l) => /listener error/.test(l.msg)).length;
    const freedAt = Date.now();
    // Two flows: the waiting one needs an fd to be accepted, one to dial, and may need a pipe.
    await Promise.all(held.splice(0, 2).map((p) => lab.kill(p)));
    const served = await waiting;
    assert.equal(served.code, 0, `the waiting connection is served once an fd is free: ${served.stderr}`);
    assert.equal(served.body, nginx.smallText);
    t.diagnostic(`${flows} idle flows held ${2 * flows} fds; accept failed with EMFILE (logged ${acceptErrors} times in ~1 s); served ${Date.now() - freedAt} ms after two flows closed`);

    // One at a time, each relay done before the next: a closing relay takes a pipe to read each
    // side's EOF, and a burst of closes would leave the pool (up to 64 pairs) holding more.
    while (held.length > 0) {
      await lab.kill(held.pop()!);
      await pollFds(daemon.proc.pid!, (c) => c.sockets <= baseline.sockets + 2 * held.length, 5_000);
    }
    await setSoftLimit(daemon, LIMIT);
    await expectServes(daemon);
    await assertDaemonWhole(daemon, baseline, 'EMFILE on accept');
  } finally {
    await Promise.all(held.map((p) => lab.kill(p)));
    assert.equal(await daemon.stop(), 0);
  }
});

for (const [relay, extra] of [['splice', []], ['copy', ['--relay', 'copy']]] as const) {
  test(`dial (relay ${relay}): one fd left, the connection is accepted and reset, the daemon carries on`, async () => {
    const daemon = await startLimited(`sg-emfile-dial-${relay}`, [...extra]);
    try {
      await expectServes(daemon);
      const baseline = await fdBaseline(daemon);
      await leaveFree(daemon, 1);
      // The same failure, worded the same, on both paths: the daemon's own socket() failed, not the upstream.
      await expectResetForWantOfFd(daemon, /"level":40,.*"reason":"EMFILE".*"msg":"flow failed: socket EMFILE/);
      await setSoftLimit(daemon, LIMIT);
      await expectServes(daemon);
      await assertDaemonWhole(daemon, baseline, `EMFILE on dial (${relay})`);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
  });
}

test('pipe (splice relay, empty pipe pool): two fds left, accepted and dialed, reset for want of a pipe', async () => {
  const daemon = await startLimited('sg-emfile-pipe');
  try {
    // No flow has moved bytes yet: the pool is empty and the first relay must make a pipe.
    const baseline = await fdBaseline(daemon);
    await leaveFree(daemon, 2);
    await expectResetForWantOfFd(daemon, /"level":40,.*"reason":"EMFILE".*"msg":"flow reset: no pipe for the splice relay: EMFILE/);
    await setSoftLimit(daemon, LIMIT);
    await expectServes(daemon);
    await assertDaemonWhole(daemon, baseline, 'EMFILE on pipe');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test('dup (Node socket path, splice relay): two fds left, accepted and dialed, reset when the relay cannot dup', async () => {
  const daemon = await startLimited('sg-emfile-dup', ['--optimistic-data']);
  try {
    await daemon.waitFor(/takes a pipelined handshake/, 10_000); // from here on flows take the Node path
    await expectServes(daemon);
    const baseline = await fdBaseline(daemon);
    await leaveFree(daemon, 2);
    await expectResetForWantOfFd(daemon, /"level":40,.*"reason":"EMFILE".*"msg":"flow failed: dup/);
    await setSoftLimit(daemon, LIMIT);
    await expectServes(daemon);
    await assertDaemonWhole(daemon, baseline, 'EMFILE on dup');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});
