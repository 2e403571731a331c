// Faults once bytes flow, on both relay paths, through Dante: the target resets mid-stream, Dante
// dies (SIGKILL) mid-stream, an upstream resets right behind its last bytes, the client resets, a
// reader stops reading while the target floods, and half-close either way. A failure reaches the other end within 1 s, bytes that should arrive
// arrive intact, the daemon stays up and its fds return to their baseline. SOCKSGATE_SUITE=full
// repeats every case 10 times and floods 256 MiB instead of 32.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLab, maxBetween, rssKiB, sample, valueAt, startDante, startEcho, startFaultTarget, suiteSize, type FaultTargetHandle, type FdCounts, type Lab, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';
import { assertDaemonWhole, assertSeenInTime, fdBaseline, RELAYS, startFaultClients, upstreamSwitch, type FaultClients, type UpstreamSwitch } from './faults-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const REPEAT = suiteSize(1, 10);
const MiB = 1024 * 1024;
const FLOOD = suiteSize(32, 256) * MiB;
/** How much more the daemon may hold while its client does not read: far less than the flood. */
const SLOW_READER_RSS_MIB = 16;
/** Socket buffers capped (every lab namespace): what the kernel holds on the way stays far below the flood. */
const SOCKET_BUFFERS = ['net.ipv4.tcp_rmem=4096 131072 1048576', 'net.ipv4.tcp_wmem=4096 16384 1048576'];
const PORT = { dante: 1080, victim: 1085, dataThenReset: 1097 };
/** What the data-then-reset upstream sends right before its reset (test/e2e/fixtures/bad-upstream.mjs). */
const LAST_BYTES = 1000;
const TARGET = { reset: 7001, flood: 7002, serverFirst: 7003, trickle: 7004, echoAfterEof: 9 };
const RESET_AFTER = 200_000;
const HALF_CLOSE_BYTES = 300_000;

let lab: Lab;
let target: FaultTargetHandle;
let victim: SocksHandle;
let clients: FaultClients;
let upstream: UpstreamSwitch;

before(async () => {
  lab = await createLab();
  for (const ns of ['client', 'proxy', 'internet']) await lab.exec(ns, 'sysctl', ['-q', '-w', ...SOCKET_BUFFERS]);
  await startDante(lab, { port: PORT.dante });
  victim = await startDante(lab, { port: PORT.victim });
  target = await startFaultTarget(lab, {
    [TARGET.reset]: `reset:${RESET_AFTER}`,
    [TARGET.flood]: `flood:${FLOOD}`,
    [TARGET.serverFirst]: 'server-first',
    [TARGET.trickle]: 'trickle',
  });
  await startEcho(lab, { port: TARGET.echoAfterEof, halfCloseEcho: true });
  const bad = lab.spawn('proxy', process.execPath, [path.join(FIXTURES, 'bad-upstream.mjs'), '--host', lab.addr.proxyClientSide, '--port', String(PORT.dataThenReset), '--mode', 'data-then-reset'], { name: 'bad-data-then-reset' });
  await lab.waitForPort('proxy', lab.addr.proxyClientSide, PORT.dataThenReset, 5_000, bad);
  await applyRedirectRules(lab, 'client');
  clients = await startFaultClients(lab);
  upstream = await upstreamSwitch(lab);
  await upstream.to(PORT.dante);
});
after(() => lab?.destroy());

/** How many connections to `port` the target has seen end so far (the index of the next one). */
const endedOn = (port: number) => target.events().filter((e) => e.port === port).length;

for (const relay of RELAYS) {
  describe(`relay ${relay.name}: one daemon through every fault`, () => {
    let daemon: Daemon;
    let baseline: FdCounts;
    const pid = () => daemon.proc.pid!;
    before(async () => {
      daemon = await startSocksgate(lab, 'client', ['--upstream', upstream.url, '--mark', String(DAEMON_MARK), '--control', 'off', ...relay.args], { name: `sg-${relay.name}` });
      // A first flow that moves bytes: the splice relay's pipe pool then holds what it keeps.
      const warm = await clients.run({ host: lab.addr.internet, port: TARGET.echoAfterEof, sendBytes: 1000, halfClose: true });
      assert.equal(warm.received, 1000, JSON.stringify(warm));
      baseline = await fdBaseline(daemon);
    });
    after(async () => {
      assert.equal(await daemon.stop(), 0, 'the daemon exits cleanly after every fault');
    });

    test('the target resets mid-stream: the client sees the end within 1 s', async (t) => {
      for (let i = 0; i < REPEAT; i++) {
        const index = endedOn(TARGET.reset);
        const out = await clients.run({ host: lab.addr.internet, port: TARGET.reset, timeoutMs: 10_000 });
        const reset = await target.nextEvent(TARGET.reset, index);
        assert.equal(reset.event, 'reset', JSON.stringify(reset));
        assert.ok(out.received > 0 && out.firstByteAt! <= reset.at, `the reset came mid-stream: ${JSON.stringify(out)}`);
        t.diagnostic(`seen ${assertSeenInTime(out, reset.at, 'target reset')} ms after the reset, ${out.received} bytes before it, ${out.error ?? 'clean close'}`);
        await assertDaemonWhole(daemon, baseline, `target reset (#${i + 1})`);
      }
    });

    test('Dante dies mid-stream (SIGKILL): the client sees the end within 1 s', async (t) => {
      await upstream.to(PORT.victim);
      try {
        for (let i = 0; i < REPEAT; i++) {
          const job = clients.start({ host: lab.addr.internet, port: TARGET.trickle, timeoutMs: 10_000 });
          let killedAt: number;
          try {
            await Promise.race([job.firstByte, job.done]);
            await new Promise((r) => setTimeout(r, 100));
            killedAt = Date.now();
            process.kill(-victim.proc.pid!, 'SIGKILL');
          } finally {
            await victim.proc.exited();
            victim = await startDante(lab, { port: PORT.victim });
          }
          const out = await job.done;
          assert.ok(out.firstByteAt !== undefined && out.firstByteAt < killedAt, `bytes flowed before the kill: ${JSON.stringify(out)}\n${daemon.proc.output()}`);
          t.diagnostic(`seen ${assertSeenInTime(out, killedAt, 'Dante killed')} ms after the kill, ${out.error ?? 'clean close'}`);
          await assertDaemonWhole(daemon, baseline, `Dante killed (#${i + 1})`);
        }
      } finally {
        await upstream.to(PORT.dante);
      }
    });

    test('the upstream resets right behind its last bytes: they still reach the client, the end within 1 s', async (t) => {
      await upstream.to(PORT.dataThenReset);
      try {
        // A race (the reset lands before or after the relay reads the bytes): a few tries show it.
        for (let i = 0; i < suiteSize(5, 20); i++) {
          const out = await clients.run({ host: lab.addr.internet, port: 80, send: 'hello', timeoutMs: 10_000 });
          assert.equal(out.received, LAST_BYTES, `the bytes ahead of the reset arrive: ${JSON.stringify(out)}\n${daemon.proc.output()}`);
          t.diagnostic(`seen ${assertSeenInTime(out, out.firstByteAt!, 'upstream reset behind its bytes')} ms after the last bytes, ${out.error ?? 'clean close'}`);
          await assertDaemonWhole(daemon, baseline, `upstream reset behind its bytes (#${i + 1})`);
        }
      } finally {
        await upstream.to(PORT.dante);
      }
    });

    test('the client resets mid-stream: the target sees the end within 1 s', async (t) => {
      for (let i = 0; i < REPEAT; i++) {
        const index = endedOn(TARGET.trickle);
        const out = await clients.run({ host: lab.addr.internet, port: TARGET.trickle, resetAfter: 1000, timeoutMs: 10_000 });
        assert.ok(out.resetAt !== undefined, JSON.stringify(out));
        const ended = await target.nextEvent(TARGET.trickle, index);
        const late = ended.at - out.resetAt;
        assert.ok(late <= 1_000, `the target saw the client's reset ${late} ms later: ${JSON.stringify(ended)}`);
        t.diagnostic(`the target saw it ${late} ms after the client's reset (${ended.event}${ended.error ? ` ${ended.error}` : ''})`);
        await assertDaemonWhole(daemon, baseline, `client reset (#${i + 1})`);
      }
    });

    test(`a reader that stops for 2 s while the target floods ${FLOOD / MiB} MiB: the flood waits, every byte arrives`, async (t) => {
      for (let i = 0; i < REPEAT; i++) {
        const index = endedOn(TARGET.flood);
        const sampling = sample(() => rssKiB(pid()), 25);
        const out = await clients.run({ host: lab.addr.internet, port: TARGET.flood, pauseAfter: MiB, pauseMs: 2_000, timeoutMs: 60_000 });
        const rss = sampling.stop();
        const flood = await target.nextEvent(TARGET.flood, index);
        assert.equal(out.error, null, JSON.stringify(out));
        assert.equal(out.received, FLOOD);
        assert.equal(out.sha256In, flood.sha256Out, 'the bytes arrive intact');
        // Every buffer on the way holds at most a few MiB (socket buffers capped at 1 MiB here): a
        // flood that got all out while the reader slept was taken in by something without a bound.
        assert.ok(flood.allWrittenAt! > out.resumedAt!, `the target wrote all ${FLOOD / MiB} MiB ${out.resumedAt! - flood.allWrittenAt!} ms before the client read again`);
        const grewMiB = (maxBetween(rss, out.pausedAt, out.resumedAt) - valueAt(rss, out.pausedAt!)) / 1024;
        assert.ok(grewMiB <= SLOW_READER_RSS_MIB, `the daemon's RSS grew ${grewMiB.toFixed(1)} MiB while its client did not read`);
        t.diagnostic(`RSS grew ${grewMiB.toFixed(1)} MiB during the pause (bound ${SLOW_READER_RSS_MIB}); the target finished ${flood.allWrittenAt! - out.resumedAt!} ms after the client resumed`);
        await assertDaemonWhole(daemon, baseline, `slow reader (#${i + 1})`);
      }
    });

    test('half-close, the client first: the whole echo comes back after its FIN', async () => {
      for (let i = 0; i < REPEAT; i++) {
        const out = await clients.run({ host: lab.addr.internet, port: TARGET.echoAfterEof, sendBytes: HALF_CLOSE_BYTES, halfClose: true, timeoutMs: 10_000 });
        assert.equal(out.error, null, JSON.stringify(out));
        assert.equal(out.received, HALF_CLOSE_BYTES);
        assert.equal(out.sha256In, out.sha256Out, 'the echo is the bytes sent');
        await assertDaemonWhole(daemon, baseline, `client half-close (#${i + 1})`);
      }
    });

    test('half-close, the server first: its FIN reaches the client within 1 s, the client still sends', async (t) => {
      for (let i = 0; i < REPEAT; i++) {
        const index = endedOn(TARGET.serverFirst);
        const out = await clients.run({ host: lab.addr.internet, port: TARGET.serverFirst, thenSend: HALF_CLOSE_BYTES, timeoutMs: 10_000 });
        const server = await target.nextEvent(TARGET.serverFirst, index);
        assert.equal(out.error, null, JSON.stringify(out));
        assert.equal(out.received, 'server-first\n'.length);
        const late = out.endAt! - server.halfClosedAt!;
        assert.ok(late <= 1_000, `the server's FIN reached the client ${late} ms later`);
        assert.equal(server.event, 'closed', JSON.stringify(server));
        assert.equal(server.received, HALF_CLOSE_BYTES, 'the client kept sending after the server half-closed');
        assert.equal(server.sha256In, out.sha256Out);
        t.diagnostic(`the server's FIN reached the client ${late} ms after it was sent`);
        await assertDaemonWhole(daemon, baseline, `server half-close (#${i + 1})`);
      }
    });
  });
}
