import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { createLab, LAB_ADDR, type Lab, type LabProcess } from './lab.js';
import { MAIN, rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK, shebangFlags } from './socksgate.js';

/**
 * The rules suite: apply, flush, stop, crash and restart at random moments (some land while the
 * rules go in) against a namespace that already holds look-alike rules of others. Whenever
 * nothing of socksgate's should be left, the whole ruleset equals the one before the first step.
 *
 * SG_RULES_ITERATIONS sets the steps per backend (default 10); SG_RULES_SEED replays a failed run.
 */

const ITERATIONS = Number(process.env.SG_RULES_ITERATIONS ?? 10);
const SEED = Number(process.env.SG_RULES_SEED ?? Math.floor(Math.random() * 2 ** 31));

let lab: Lab;
let initial: string;

/** Another tool's policy routing, identical to socksgate's defaults (fwmark 0x1, table 100). */
const FOREIGN_ROUTING = [
  ['-4', 'rule', 'add', 'fwmark', '0x1/0x1', 'lookup', '100'],
  ['-6', 'rule', 'add', 'fwmark', '0x1/0x1', 'lookup', '100'],
  ['-4', 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100'],
  ['-6', 'route', 'add', 'local', '::/0', 'dev', 'lo', 'table', '100'],
];

/** nft tables named like socksgate's: another name, and its name in another family. */
const FOREIGN_NFT = `table inet socksgate_other {
  chain output {
    type route hook output priority mangle; policy accept;
    meta mark & 0x1 == 0x1 counter
  }
}
table ip socksgate {
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    counter
  }
}
`;

/**
 * iptables chains named like socksgate's (SOCKSGATE_*, exec's SGX*_) and another tool's chain. The
 * mangle tables exist with some built-in chains only, so apply creates PREROUTING (and OUTPUT).
 */
const FOREIGN_IPTABLES = `*mangle
:SOCKSGATE_OTHER - [0:0]
-A FORWARD -j SOCKSGATE_OTHER
-A SOCKSGATE_OTHER -m mark --mark 0x1/0x1 -j RETURN
COMMIT
*nat
:SOCKSGATE_NAT2 - [0:0]
:SGXFOO_OTHER - [0:0]
-A PREROUTING -j SOCKSGATE_NAT2
-A SOCKSGATE_NAT2 -j SGXFOO_OTHER
COMMIT
`;
const FOREIGN_IP6TABLES = `*mangle
:OTHERTOOL - [0:0]
-A OUTPUT -m mark --mark 0x1/0x1 -j OTHERTOOL
-A OTHERTOOL -j RETURN
COMMIT
`;

before(async () => {
  lab = await createLab({ ipv6: true });
  for (const args of FOREIGN_ROUTING) await lab.exec('client', 'ip', args);
  await lab.exec('client', 'nft', ['-f', '-'], { input: FOREIGN_NFT });
  await lab.exec('client', 'iptables-restore', ['--noflush'], { input: FOREIGN_IPTABLES });
  await lab.exec('client', 'ip6tables-restore', ['--noflush'], { input: FOREIGN_IP6TABLES });
  initial = await snapshot(lab, 'client');
});
after(() => lab?.destroy());

/** mulberry32: small, seeded, good enough to pick steps and delays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

type Mode = 'host' | 'router';
const MODE_ARGS: Record<Mode, string[]> = {
  host: ['--tproxy', '[::]:12347'],
  router: ['--tproxy', '[::]:12347', '--rules-mode', 'router', '--lan-interface', 'lan0', '--lan-source', '203.0.113.128/26', '--lan-source', '2001:db8:4::/64'],
};

function argsFor(backend: string, mode: Mode): string[] {
  return ['--upstream', `socks5://${LAB_ADDR.proxyClientSide}:1080`, '--mark', String(DAEMON_MARK), '--rules-backend', backend, ...MODE_ARGS[mode]];
}

const exited = (proc: LabProcess) => proc.exitCode !== null || proc.signalCode !== null;
function logText(proc: LabProcess): string {
  try {
    return readFileSync(proc.logPath, 'utf8');
  } catch {
    return ''; // not opened yet
  }
}

/** Waits (bounded) for a log line; false when the process exited without writing it. */
async function reached(proc: LabProcess, pattern: RegExp, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pattern.test(logText(proc))) return true;
    if (exited(proc)) return false;
    await sleep(10);
  }
  throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${proc.output()}`);
}

/** Waits (bounded) for the process and all it started to be gone. */
async function gone(proc: LabProcess): Promise<void> {
  const timeout = sleep(20_000).then(() => 'timeout');
  if ((await Promise.race([proc.exited().then(() => 'exited'), timeout])) === 'timeout') {
    process.kill(-proc.pid!, 'SIGKILL');
    throw new Error(`socksgate did not exit within 20 s:\n${proc.output()}`);
  }
}

/**
 * A moment in a daemon's start-up: some delay after it was started, or after its first listener
 * (the rules go in right after the listeners, so 0–300 ms from there covers before, during and
 * after the install).
 */
interface Moment {
  readonly after: 'spawn' | 'listening';
  readonly ms: number;
}

function pickMoment(random: () => number): Moment {
  return { after: random() < 0.25 ? 'spawn' : 'listening', ms: Math.floor(random() * 300) };
}

let spawned = 0;
/** `run --rules auto`; with `workers`, a primary that installs the rules once its 2 workers listen. */
function startDaemon(args: readonly string[], workers = false): LabProcess {
  const run = ['run', '--log-level', 'debug', '--control', 'off', '--rules', 'auto', ...(workers ? ['--workers', '2'] : [])];
  return lab.spawn('client', process.execPath, [...shebangFlags(MAIN), MAIN, ...run, ...args], { name: `sg-suite-${++spawned}` });
}

/** `signal` to the daemon (kill PID) or its whole process group (systemd's control-group stop), at `moment`. */
async function signalAt(proc: LabProcess, moment: Moment, signal: NodeJS.Signals, group: boolean): Promise<void> {
  if (moment.after === 'listening') await reached(proc, /"msg":"listening"/);
  await sleep(moment.ms);
  if (!exited(proc)) process.kill(group ? -proc.pid! : proc.pid!, signal);
  await gone(proc);
}

/** node's assert shows the lines that differ. */
async function assertFirstRuleset(failure: () => string): Promise<void> {
  assert.equal(await snapshot(lab, 'client'), initial, `the ruleset differs from the first\n${failure()}`);
}

const flushedBy = (proc: LabProcess) => /"msg":"rules flushed"/.test(logText(proc));

type Step = 'apply' | 'flush' | 'stop' | 'crash' | 'restart';
const STEPS: readonly Step[] = ['apply', 'flush', 'stop', 'stop', 'crash', 'restart'];

/**
 * Runs one step and says whether socksgate's rules may be installed afterwards: `dirty` is what
 * was true before. A stopped daemon that had installed rules logs their flush; one stopped
 * before it installed anything leaves the state as it was.
 */
async function runStep(step: Step, args: readonly string[], random: () => number, dirty: boolean, note: (s: string) => void): Promise<boolean> {
  switch (step) {
    case 'apply':
      await rules(lab, 'client', 'apply', args);
      return true;
    case 'flush':
      await rules(lab, 'client', 'flush', args);
      return false;
    case 'stop': {
      const moment = pickMoment(random);
      const group = random() < 0.3;
      const workers = random() < 0.2;
      note(`SIGTERM ${group ? 'group ' : ''}${moment.ms} ms after ${moment.after}${workers ? ', 2 workers' : ''}`);
      const proc = startDaemon(args, workers);
      await signalAt(proc, moment, 'SIGTERM', group);
      return dirty && !flushedBy(proc);
    }
    case 'crash': {
      const moment = pickMoment(random);
      note(`SIGKILL ${moment.ms} ms after ${moment.after}`);
      await signalAt(startDaemon(args), moment, 'SIGKILL', true);
      return true;
    }
    case 'restart': {
      // A daemon stopped at a random moment, then one that replaces whatever is left and is stopped once running.
      const moment = pickMoment(random);
      note(`SIGTERM ${moment.ms} ms after ${moment.after}, then a full run`);
      await signalAt(startDaemon(args), moment, 'SIGTERM', false);
      const next = startDaemon(args);
      assert.ok(await reached(next, /"msg":"socksgate running"/), next.output());
      next.kill('SIGTERM');
      await gone(next);
      assert.ok(flushedBy(next), next.output());
      return false;
    }
  }
}

for (const backend of ['nft', 'iptables'] as const) {
  test(`rules suite, ${backend}: random apply/flush/stop/crash/restart among others' rules end in the first ruleset`, async () => {
    const seed = SEED + (backend === 'nft' ? 0 : 1);
    const random = seeded(seed);
    const history: string[] = [];
    const failure = () => `seed ${seed} (SG_RULES_SEED=${SEED} replays it), steps:\n  ${history.join('\n  ')}`;
    let dirty = false;
    for (let i = 0; i < ITERATIONS; i++) {
      const mode: Mode = i % 2 === 0 ? 'host' : 'router';
      const step = STEPS[Math.floor(random() * STEPS.length)]!;
      let entry = `${i}: ${step} (${mode})`;
      try {
        dirty = await runStep(step, argsFor(backend, mode), random, dirty, (s) => (entry += `: ${s}`));
      } catch (err) {
        history.push(entry);
        throw new Error(`${(err as Error).message}\n${failure()}`, { cause: err });
      }
      history.push(entry);
      if (!dirty) await assertFirstRuleset(failure);
    }
    await rules(lab, 'client', 'flush', argsFor(backend, 'host'));
    history.push('end: flush');
    await assertFirstRuleset(failure);
  });
}

test('apply refuses a route table holding another route of someone else, names it and installs nothing', async () => {
  await lab.exec('client', 'ip', ['-4', 'route', 'add', '203.0.113.0/24', 'via', LAB_ADDR.proxyClientSide, 'dev', 'to-proxy', 'table', '100']);
  const before = await snapshot(lab, 'client');
  const r = await lab.exec('client', process.execPath, [MAIN, 'rules', 'apply', ...argsFor('nft', 'router')], { allowFail: true });
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /^socksgate rules apply: route table 100 \(ipv4\) holds routes socksgate did not add \(203\.0\.113\.0\/24 via 192\.0\.2\.1 dev to-proxy proto 3\); .*rules\.route_table/);
  assert.equal(await snapshot(lab, 'client'), before);
});
