// Faults before the first byte, on both relay paths: the upstream proxy refuses, is unreachable or
// never answers the SYN; the target behind Dante refuses, is unreachable or never answers; Dante is
// stopped (SIGSTOP) or a scripted upstream stalls mid-handshake, sends garbage or resets right after
// its success reply. Each time the client is reset within 1 s of the failure point (for a silent
// peer: the daemon's 500 ms connect/handshake deadline), the reason is logged once, the daemon stays
// up and its fds return to their baseline. One daemon per relay path goes through every fault: its
// upstream address leads to each faulty peer in turn (upstreamSwitch).
// SOCKSGATE_SUITE=full repeats every case 10 times.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createLab, startDante, startNginx, suiteSize, type FdCounts, type Lab, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';
import { assertDaemonWhole, assertResetEmpty, assertSeenInTime, DEADLINE_MS, fdBaseline, RELAYS, shortDeadlinesConfig, startFaultClients, upstreamSwitch, warningsSince, type FaultClients, type UpstreamSwitch } from './faults-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const REPEAT = suiteSize(1, 10);
const REQUEST = 'GET / HTTP/1.0\r\n\r\n';

/** Ports in the proxy namespace: nothing listens on CLOSED; the nft rules below drop or reject the others. */
const PORT = { dante: 1080, stalled: 1085, closed: 1090, dropped: 1091, rejected: 1092, garbage: 1093, resetAfterSuccess: 1094, midHandshake: 1095, refuseThenReset: 1096 };
/** Target ports on 203.0.113.10 whose SYNs from the proxy namespace are dropped / rejected. */
const TARGET = { dropped: 81, rejected: 82, closed: 9 };

let lab: Lab;
let config: string;
let stalled: SocksHandle;
let clients: FaultClients;
let upstream: UpstreamSwitch;

before(async () => {
  lab = await createLab();
  config = shortDeadlinesConfig(lab);
  await startNginx(lab);
  await startDante(lab, { port: PORT.dante });
  stalled = await startDante(lab, { port: PORT.stalled });
  for (const [mode, port] of [['garbage', PORT.garbage], ['success-then-reset', PORT.resetAfterSuccess], ['greeting-then-silent', PORT.midHandshake], ['refuse-then-reset', PORT.refuseThenReset]] as const) {
    const fake = lab.spawn('proxy', process.execPath, [path.join(FIXTURES, 'bad-upstream.mjs'), '--host', lab.addr.proxyClientSide, '--port', String(port), '--mode', mode], { name: `bad-${mode}` });
    await lab.waitForPort('proxy', lab.addr.proxyClientSide, port, 5_000, fake);
  }
  const rules = [
    'table ip sg_faults {',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    `    tcp dport ${PORT.dropped} drop`,
    `    tcp dport ${PORT.rejected} reject with icmp type host-unreachable`,
    '  }',
    '  chain output {',
    '    type filter hook output priority 0; policy accept;',
    `    ip daddr ${lab.addr.extraTarget} tcp dport ${TARGET.dropped} drop`,
    `    ip daddr ${lab.addr.extraTarget} tcp dport ${TARGET.rejected} reject with icmp type host-unreachable`,
    '  }',
    '}',
    '',
  ].join('\n');
  // Every rejected SYN gets its ICMP error, however many come in a row (a full run repeats them).
  await lab.exec('proxy', 'sysctl', ['-q', '-w', 'net.ipv4.icmp_ratelimit=0']);
  await lab.exec('proxy', 'nft', ['-f', '-'], { input: rules });
  await applyRedirectRules(lab, 'client');
  clients = await startFaultClients(lab);
  upstream = await upstreamSwitch(lab);
});
after(() => lab?.destroy());

interface Fault {
  name: string;
  upstreamPort: number;
  target: () => { host: string; port: number };
  /** The failure point, after the client's connect: 0, or the daemon's deadline for a silent peer. */
  failsAfterMs: number;
  reason: string;
  /** The message of the logged failure. */
  message?: RegExp;
  /** Flows to try (default REPEAT): a race needs a few tries to show. */
  repeat?: number;
  /** Before the first flow / after the last one (SIGSTOP and SIGCONT). */
  setUp?: () => void;
  tearDown?: () => void;
}

const web = () => ({ host: lab.addr.internet, port: 80 });
const FAULTS: Fault[] = [
  { name: 'the upstream refuses (nothing listens)', upstreamPort: PORT.closed, target: web, failsAfterMs: 0, reason: 'SG_ERR_UPSTREAM_UNREACHABLE', message: /ECONNREFUSED/ },
  { name: 'the upstream is unreachable (ICMP host unreachable)', upstreamPort: PORT.rejected, target: web, failsAfterMs: 0, reason: 'SG_ERR_UPSTREAM_UNREACHABLE', message: /EHOSTUNREACH/ },
  { name: 'the upstream never answers the SYN (dropped)', upstreamPort: PORT.dropped, target: web, failsAfterMs: DEADLINE_MS, reason: 'SG_ERR_CONNECT_TIMEOUT' },
  { name: 'the target refuses (closed port behind Dante)', upstreamPort: PORT.dante, target: () => ({ host: lab.addr.internet, port: TARGET.closed }), failsAfterMs: 0, reason: 'SG_ERR_UPSTREAM_REFUSED', message: /REP=5/ },
  { name: 'the target is unreachable (Dante gets ICMP)', upstreamPort: PORT.dante, target: () => ({ host: lab.addr.extraTarget, port: TARGET.rejected }), failsAfterMs: 0, reason: 'SG_ERR_UPSTREAM_REFUSED', message: /REP=4/ },
  { name: 'the target never answers Dante (SYN dropped)', upstreamPort: PORT.dante, target: () => ({ host: lab.addr.extraTarget, port: TARGET.dropped }), failsAfterMs: DEADLINE_MS, reason: 'SG_ERR_HANDSHAKE_TIMEOUT' },
  {
    name: 'Dante is stopped (SIGSTOP): the TCP connect succeeds, the handshake stalls',
    upstreamPort: PORT.stalled,
    target: web,
    failsAfterMs: DEADLINE_MS,
    reason: 'SG_ERR_HANDSHAKE_TIMEOUT',
    setUp: () => process.kill(-stalled.proc.pid!, 'SIGSTOP'),
    tearDown: () => process.kill(-stalled.proc.pid!, 'SIGCONT'),
  },
  { name: 'the upstream stalls mid-handshake (method chosen, CONNECT never answered)', upstreamPort: PORT.midHandshake, target: web, failsAfterMs: DEADLINE_MS, reason: 'SG_ERR_HANDSHAKE_TIMEOUT' },
  {
    // Dante refuses a CONNECT this way: its reset lands right behind the reply, and the reply must
    // still be read and judged (logged as refused), not lost to the reset.
    name: 'the upstream refuses the CONNECT and resets at once',
    upstreamPort: PORT.refuseThenReset,
    target: web,
    failsAfterMs: 0,
    reason: 'SG_ERR_UPSTREAM_REFUSED',
    message: /REP=5/,
    repeat: suiteSize(5, 20),
  },
  { name: 'the upstream sends garbage', upstreamPort: PORT.garbage, target: web, failsAfterMs: 0, reason: 'SG_ERR_MALFORMED_REPLY' },
  { name: 'the upstream resets right after its success reply', upstreamPort: PORT.resetAfterSuccess, target: web, failsAfterMs: 0, reason: 'SG_ERR_UPSTREAM_RESET' },
];

for (const relay of RELAYS) {
  describe(`relay ${relay.name}: one daemon through every fault`, () => {
    let daemon: Daemon;
    let baseline: FdCounts;
    before(async () => {
      daemon = await startSocksgate(lab, 'client', ['--config', config, '--upstream', upstream.url, '--mark', String(DAEMON_MARK), '--control', 'off', ...relay.args], { name: `sg-${relay.name}` });
      baseline = await fdBaseline(daemon);
    });
    after(async () => {
      assert.equal(await daemon.stop(), 0, 'the daemon exits cleanly after every fault');
    });

    for (const fault of FAULTS) {
      test(`${fault.name}: the client is reset in time, the daemon stays whole`, async (t) => {
        await upstream.to(fault.upstreamPort);
        const logged = daemon.lines().length;
        const late: number[] = [];
        fault.setUp?.();
        try {
          for (let i = 0; i < (fault.repeat ?? REPEAT); i++) {
            const out = await clients.run({ ...fault.target(), send: REQUEST, timeoutMs: 10_000 });
            assertResetEmpty(out, daemon.proc.output());
            late.push(assertSeenInTime(out, (out.connectedAt ?? out.startedAt) + fault.failsAfterMs, fault.name));
            await assertDaemonWhole(daemon, baseline, `${fault.name} (#${i + 1})`);
          }
        } finally {
          fault.tearDown?.();
        }
        t.diagnostic(`${late.length} flows reset ${Math.min(...late)}–${Math.max(...late)} ms after the failure point`);
        const failures = await warningsSince(daemon, logged, fault.repeat ?? REPEAT);
        for (const line of failures) {
          assert.equal(line.reason, fault.reason, JSON.stringify(line));
          if (fault.message) assert.match(line.msg, fault.message);
        }
      });
    }
  });
}
