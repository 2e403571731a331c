import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { addrOf, formatAddr, type SocksAddr } from '../../../src/core/addr.js';
import type { StatusSnapshot } from '../../../src/observe/control.js';
import { ExecTargetError, findExecTarget } from '../../../src/cli/exec/target.js';
import { tcpListening } from '../../../src/cli/exec/listening.js';
import { endianness } from 'node:os';

const flagsOnly = loadConfig(undefined, {}, {}, 'optional');
const FILE = '/run/test/control.sock';

/** Something listens on exactly these addresses. */
const listeningOn = (...where: string[]) => (at: SocksAddr) => where.includes(formatAddr(at));
const noDaemon = () => Promise.reject(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }));

function snapshot(endpoints: unknown): () => Promise<StatusSnapshot> {
  return async () => ({ pid: 42, now: 0, startedAt: 0, flows: [], upstreams: [], endpoints }) as StatusSnapshot;
}

const daemonEndpoints = {
  redirect: [addrOf('127.0.0.1', 12400)],
  tproxy: [addrOf('::', 12347)],
  dns: addrOf('127.0.0.53', 53),
  mark: 2,
  upstreams: [addrOf('192.0.2.1', 1080)],
};

test('exec with no listener flags asks the running daemon for its listeners, DNS, mark and upstreams', async () => {
  const target = await findExecTarget(flagsOnly, { control: FILE }, listeningOn('127.0.0.1:12400'), snapshot(JSON.parse(JSON.stringify(daemonEndpoints))));
  assert.deepEqual(target, { ...daemonEndpoints, source: `the daemon (pid 42) on ${FILE}` });
});

test('listeners given to exec win; the daemon is not asked', async () => {
  const given = loadConfig(undefined, { redirect: ['127.0.0.1:12999'] }, {}, 'optional');
  const target = await findExecTarget(given, { redirect: ['127.0.0.1:12999'] }, listeningOn(), () => assert.fail('asked the daemon'));
  assert.deepEqual(target.redirect, [addrOf('127.0.0.1', 12999)]);
});

test('no daemon answers: the default redirect listener, when something listens on it', async () => {
  const target = await findExecTarget(flagsOnly, { control: FILE }, listeningOn('127.0.0.1:12345'), noDaemon);
  assert.deepEqual(target.redirect, [addrOf('127.0.0.1', 12345)]);
  assert.match(target.source, /default/);
  assert.deepEqual((await findExecTarget(flagsOnly, { control: 'off' }, listeningOn('127.0.0.1:12345'), noDaemon)).redirect, target.redirect);
});

test('when exec cannot tell where the daemon is, it says exactly what to pass', async () => {
  const cannot = async (promise: Promise<unknown>, pattern: RegExp) =>
    assert.rejects(promise, (err: Error) => err instanceof ExecTargetError && pattern.test(err.message), pattern.source);
  await cannot(findExecTarget(flagsOnly, { control: FILE }, listeningOn(), noDaemon), /no socksgate daemon answered on \/run\/test\/control\.sock \(ENOENT\) and nothing listens on 127\.0\.0\.1:12345: .*--control PATH .*--redirect ADDR:PORT .*-c FILE/);
  await cannot(findExecTarget(flagsOnly, { control: 'off' }, listeningOn(), noDaemon), /--control off\) and nothing listens/);
  await cannot(findExecTarget(flagsOnly, { control: FILE }, listeningOn(), snapshot(undefined)), /pid 42.* does not tell where it listens .*--redirect ADDR:PORT/);
  await cannot(findExecTarget(flagsOnly, { control: FILE }, listeningOn(), snapshot({ ...daemonEndpoints, redirect: [{ host: 1 }] })), /does not tell/);
  await cannot(findExecTarget(flagsOnly, { control: FILE }, listeningOn(), snapshot(daemonEndpoints)), /listens on redirect 127\.0\.0\.1:12400, tproxy \[::\]:12347, but no redirect listener of it listens here: is it in another network namespace\?/);
  await cannot(findExecTarget(flagsOnly, { control: FILE }, listeningOn(), snapshot({ ...daemonEndpoints, redirect: [] })), /start the daemon with --redirect 127\.0\.0\.1:12345 too/);
});

test('tcpListening reads LISTEN sockets of /proc/net/tcp{,6}: the address itself or a wildcard', () => {
  const le = endianness() === 'LE';
  const v4 = (hex: string) => (le ? hex : hex.match(/../g)!.reverse().join(''));
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const tcp = `${header}   0: ${v4('0100007F')}:3039 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: ${v4('0100007F')}:303A ${v4('0100007F')}:9218 01 0\n`;
  const tcp6 = `${header}   0: 00000000000000000000000000000000:3E80 00000000000000000000000000000000:0000 0A 0\n`;
  assert.equal(tcpListening(addrOf('127.0.0.1', 12345), [tcp, tcp6]), true);
  assert.equal(tcpListening(addrOf('127.0.0.2', 12345), [tcp, '']), false);
  assert.equal(tcpListening(addrOf('127.0.0.1', 12346), [tcp, '']), false, 'an established socket is no listener');
  assert.equal(tcpListening(addrOf('127.0.0.1', 16000), [tcp, tcp6]), true, 'a [::] listener takes IPv4 too');
  assert.equal(tcpListening(addrOf('localhost', 12345), [tcp, tcp6]), false);
});
