// src/native in a throwaway network namespace `sg-nat-<pid>` (root only; nothing is added to the
// root namespace): originalDestination() behind real iptables/ip6tables REDIRECT rules, and
// dialMarked()'s SO_MARK proven on the SYN by firewall rules that match the mark.
//
//   node --import tsx --test test/e2e/native-redirect.test.ts
//
// The probes run in test/e2e/fixtures/native-probe.ts, started with `ip netns exec`.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DialFailure } from '../../src/native/tcp-dial.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROBE = 'test/e2e/fixtures/native-probe.ts';
const NS = `sg-nat-${process.pid}`;

const isRoot = process.getuid?.() === 0;
const hasTools = ['ip', 'iptables', 'ip6tables'].every((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0);
const skip = !isRoot ? 'needs root (network namespaces)' : !hasTools ? 'needs ip, iptables, ip6tables' : false;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}
const inNs = (cmd: string, ...args: string[]): string => run('ip', ['netns', 'exec', NS, cmd, ...args]);

function deleteNamespace(): void {
  const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' });
  for (const pid of (pids.stdout ?? '').split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  spawnSync('ip', ['netns', 'del', NS]);
}

/** Runs the probe inside the namespace; resolves with the one JSON object it prints. */
function probe(mode: 'redirect' | 'dial'): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', NS, process.execPath, '--import', 'tsx', PROBE, mode],
      { cwd: ROOT, timeout: 30_000, killSignal: 'SIGKILL', encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`probe ${mode} failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
        } catch {
          reject(new Error(`probe ${mode} printed no JSON:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** Packet count of the one rule in `table` whose iptables-save line contains every fragment. */
function counter(tool: 'iptables' | 'ip6tables', table: string, ...fragments: string[]): number {
  const lines = inNs(`${tool}-save`, '-c', '-t', table).split('\n');
  const hits = lines.filter((l) => fragments.every((f) => l.includes(f)));
  assert.equal(hits.length, 1, `exactly one ${tool} ${table} rule with ${fragments.join(' ')}:\n${lines.join('\n')}`);
  const m = /^\[(\d+):\d+\]/.exec(hits[0]);
  assert.ok(m, `no counters in ${hits[0]}`);
  return Number(m[1]);
}

describe('native addon in a network namespace', { skip, timeout: 60_000 }, () => {
  before(() => {
    deleteNamespace(); // a leftover from a killed run with the same pid
    run('ip', ['netns', 'add', NS]);
    try {
      run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
      // REDIRECT in nat OUTPUT happens after the routing decision: the destinations need a route.
      run('ip', ['-n', NS, 'route', 'add', '192.0.2.0/24', 'dev', 'lo', 'src', '127.0.0.1']);
      run('ip', ['-n', NS, '-6', 'route', 'add', '2001:db8::/64', 'dev', 'lo']);
      run('ip', ['-n', NS, 'route', 'add', 'unreachable', '198.51.100.0/24']);
      // One SYN retransmission: a dropped connect gives up (ETIMEDOUT) after ~3 s instead of ~2 min.
      inNs('sysctl', '-qw', 'net.ipv4.tcp_syn_retries=1');

      const nat = (tool: string, dst: string, dport: string, to: string): string =>
        inNs(tool, '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', dst, '--dport', dport, '-j', 'REDIRECT', '--to-ports', to);
      nat('iptables', '192.0.2.10', '80', '12345');
      nat('iptables', '192.0.2.10', '81', '12347');
      nat('ip6tables', '2001:db8::10', '80', '12346');
      nat('ip6tables', '2001:db8::10', '81', '12347');

      for (const tool of ['iptables', 'ip6tables']) {
        const syn = ['-p', 'tcp', '--dport', '12350', '--syn', '-m', 'mark', '--mark'];
        // Counting rules (no target), then a REJECT for marked SYNs only.
        inNs(tool, '-t', 'mangle', '-A', 'OUTPUT', ...syn, '0x2');
        inNs(tool, '-t', 'mangle', '-A', 'OUTPUT', ...syn, '0x0');
        inNs(tool, '-A', 'OUTPUT', ...syn, '0x2', '-j', 'REJECT', '--reject-with', 'tcp-reset');
      }
      inNs('iptables', '-A', 'INPUT', '-d', '192.0.2.99', '-j', 'DROP');
    } catch (err) {
      deleteNamespace();
      throw err;
    }
  });

  after(() => {
    deleteNamespace();
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    assert.ok(!left.split('\n').some((l) => l.split(' ')[0] === NS), `namespace ${NS} left behind`);
  });

  test('originalDestination recovers REDIRECTed destinations (v4, v6, dual-stack listener)', async () => {
    const r = await probe('redirect');
    assert.deepEqual(r.v4, { dst: { kind: 'ipv4', host: '192.0.2.10', port: 80 }, localAddress: '127.0.0.1', localPort: 12345 });
    assert.deepEqual(r.v6, { dst: { kind: 'ipv6', host: '2001:db8::10', port: 80 }, localAddress: '::1', localPort: 12346 });
    // listenTcp made a dual-stack [::] listener; an IPv4 flow arrives v4-mapped and uses SOL_IP.
    assert.deepEqual(r.dualAddress, { address: '::', family: 'IPv6', port: 12347 });
    assert.deepEqual(r.dual4, { dst: { kind: 'ipv4', host: '192.0.2.10', port: 81 }, localAddress: '::ffff:127.0.0.1', localPort: 12347 });
    assert.deepEqual(r.dual6, { dst: { kind: 'ipv6', host: '2001:db8::10', port: 81 }, localAddress: '::1', localPort: 12347 });
    // With conntrack active but no NAT, the "original" destination is just the listener itself.
    assert.deepEqual(r.plain.dst, { kind: 'ipv4', host: '127.0.0.1', port: 12345 });
  });

  test('dialMarked: the mark is on the SYN; connect, refusal, unreachable and timeout behave like net.connect', async () => {
    const r = await probe('dial');

    // Unmarked: connects, the write issued before 'connect' is echoed, addresses are populated.
    for (const [key, host] of [['mark0v4', '127.0.0.1'], ['mark0v6', '::1']] as const) {
      assert.equal(r[key].connect, true, key);
      assert.equal(r[key].echoed, 'ping', key);
      assert.equal(r[key].localAddress, host, key);
      assert.equal(r[key].remoteAddress, host, key);
      assert.equal(r[key].remotePort, 12350, key);
    }
    // Marked: the filter rule that matches only mark 0x2 rejects the SYN.
    for (const key of ['mark2v4', 'mark2v6']) {
      assert.equal(r[key].connect, false, key);
      assert.equal(r[key].error.code, 'ECONNREFUSED', key);
      assert.equal(r[key].error.syscall, 'connect', key);
    }
    // Exactly one SYN per dial, each counted by the rule for its own mark.
    for (const tool of ['iptables', 'ip6tables'] as const) {
      assert.equal(counter(tool, 'mangle', '--dport 12350', '--mark 0x2'), 1, `${tool}: SYNs with mark 0x2`);
      assert.equal(counter(tool, 'mangle', '--dport 12350', '--mark 0x0'), 1, `${tool}: SYNs without mark`);
    }

    // A connect() that fails at once becomes an 'error' event, not a throw.
    assert.equal(r.unreachable.thrown, undefined);
    assert.equal(r.unreachable.error.code, 'EHOSTUNREACH');
    assert.equal(r.unreachable.error.syscall, 'connect');

    // The native dialer reports a connect that failed at once from the loop, like any failed
    // connect (CONNECT_FAILED with the connect's errno, not its deadline's), and resets the client.
    assert.deepEqual({ kind: r.nativeUnreachable.kind, errno: r.nativeUnreachable.errno }, { kind: DialFailure.CONNECT_FAILED, errno: 113 /* EHOSTUNREACH */ });
    assert.equal(r.nativeUnreachable.clientEnded, 'reset');

    // setTimeout works while connecting; the kernel gives up with ETIMEDOUT.
    assert.equal(r.timeout.connect, false);
    assert.ok(r.timeout.timeoutEventMs >= 250 && r.timeout.timeoutEventMs < 2000, `timeout event at ${r.timeout.timeoutEventMs} ms`);
    assert.equal(r.timeout.error.code, 'ETIMEDOUT');
    assert.equal(r.timeout.error.syscall, 'connect');
  });
});
