// The local SOCKS4/4a/5 and HTTP proxy inbound end to end: socksgate runs in the client namespace
// with a loopback listener (no users) and one on the client's address (users), real clients
// (curl in every proxy mode, Dante's socksify wrapping an unmodified curl) reach nginx in the
// internet namespace; names go through unresolved (only Dante's namespace knows the lab names);
// a user rule sends alice direct (nginx sees the client) while the rest go through Dante (nginx
// sees the proxy), a name she asks for resolved by the daemon (one name in the client's hosts
// file); a reject rule is REP 2 / 0x5b / 403; wrong passwords are refused; flows show up in logs,
// status and metrics with inbound socks and the user; an open non-loopback listener refuses to
// start; a daemon stopped while its dials hang answers them (REP 1 / 0x5b / 502).
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, LAB_HOSTS, startDante, startNginx, type Lab, type NginxHandle } from './lab.js';
import { routeClientDirectly, runToExit, withFlowLine } from './route-lab.js';
import { MAIN, shebangFlags, startSocksgate, type Daemon } from './socksgate.js';

const OPEN = '127.0.0.1:1080';
const LOCKED_PORT = 1081;
const V6_OPEN = '[::1]:1080';
const METRICS = '127.0.0.1:9464';
const PASSWORD = 'alice-Pw:1';
const BLOCKED = 'blocked.lab.test';
/** The one lab name the client namespace resolves (its /etc/hosts): for alice's direct flows to a name. */
const NEAR = 'near.lab.test';

let lab: Lab;
let nginx: NginxHandle;
let daemon: Daemon;
let control: string;
let locked: string;
let config: string;
let bobPass: string;

before(async () => {
  lab = await createLab({ ipv6: true });
  await routeClientDirectly(lab);
  appendFileSync(path.join(path.dirname(lab.resolvConfPath('client')), 'hosts'), `${lab.addr.internet}\t${NEAR}\n`);
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  locked = `${lab.addr.client}:${LOCKED_PORT}`;
  const alicePass = path.join(lab.dir, 'alice.pass');
  writeFileSync(alicePass, `${PASSWORD}\n`, { mode: 0o600 });
  bobPass = path.join(lab.dir, 'bob.pass');
  writeFileSync(bobPass, 'bob-Pw\n', { mode: 0o600 });
  control = path.join(lab.dir, 'control.sock');
  config = path.join(lab.dir, 'socks-inbound.yaml');
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
      'inbounds:',
      '  socks:',
      `    - { listen: "${OPEN}" }`,
      `    - { listen: "${V6_OPEN}" }`,
      `    - listen: "${locked}"`,
      `      users: [{ name: alice, password_file: ${alicePass} }, { name: bob, password_file: ${bobPass} }]`,
      'route:',
      '  final: dante',
      '  rules:',
      `    - { domain: [${BLOCKED}], action: reject }`,
      `    - { inbound: socks, port: [81], action: reject }`,
      '    - { user: [alice], action: direct }',
      '',
    ].join('\n'),
  );
  daemon = await startSocksgate(lab, 'client', ['-c', config, '--metrics', METRICS, '--control', control], { name: 'sg-socks-inbound' });
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

/** nginx's /ip (or `url`) through the proxy `proxyArgs` (curl flags): the address the target saw, or curl's error. */
async function seenThrough(proxyArgs: readonly string[], host: string = lab.addr.internet, url = nginx.url('/ip', host)): Promise<string> {
  const r = await curl(lab, 'client', url, proxyArgs);
  return r.code === 0 ? r.body.trim() : `curl exit ${r.code}: ${r.stderr.trim()}`;
}

test('no users, loopback: every curl proxy mode reaches nginx through Dante (the target sees the proxy)', async () => {
  const proxy = lab.addr.proxyInternetSide;
  for (const mode of ['--socks4', '--socks5', '--socks4a', '--socks5-hostname']) {
    assert.equal(await seenThrough([mode, OPEN]), proxy, mode);
  }
  assert.equal(await seenThrough(['-x', `http://${OPEN}`]), proxy, 'plain GET http://… forwarded in origin-form');
  assert.equal(await seenThrough(['-p', '-x', `http://${OPEN}`]), proxy, 'HTTP CONNECT');
  assert.equal(await seenThrough(['-x', `socks5h://${V6_OPEN}`], lab.addr.internet6), lab.addr.proxyInternetSide6, 'an IPv6 target over an IPv6 listener');
  const small = await curl(lab, 'client', nginx.url('/small.txt'), ['-x', `http://${OPEN}`]);
  assert.equal(small.body, nginx.smallText);
  const big = await curl(lab, 'client', nginx.url('/10mb.bin'), ['--socks5', OPEN, '-o', '/dev/null', '-w', '%{size_download}']);
  assert.equal(big.stdout, String(10 * 1024 * 1024), big.stderr);
});

test('a name goes upstream unresolved: socks4a, socks5h and HTTP reach a name only Dante\'s namespace knows', async () => {
  const proxy = lab.addr.proxyInternetSide;
  for (const args of [['--socks4a', OPEN], ['--socks5-hostname', OPEN], ['-x', `http://${OPEN}`], ['-p', '-x', `http://${OPEN}`]]) {
    const { result, line } = await withFlowLine(daemon, `${LAB_HOSTS.web4}:80`, () => seenThrough(args, LAB_HOSTS.web4));
    assert.equal(result, proxy, args.join(' '));
    assert.deepEqual([line.inbound, line.outbound], ['socks', 'dante']);
  }
  // The client namespace cannot resolve lab names itself: the name was never looked up locally.
  assert.notEqual((await curl(lab, 'client', nginx.url('/ip', LAB_HOSTS.web4))).code, 0);
});

test('users: alice goes direct by a user rule (the target sees the client), bob through Dante; wrong passwords are refused', async () => {
  const client = lab.addr.client;
  const proxy = lab.addr.proxyInternetSide;
  assert.equal(await seenThrough(['--socks5', locked, '--proxy-user', `alice:${PASSWORD}`]), client);
  assert.equal(await seenThrough(['-x', `socks5h://bob:bob-Pw@${locked}`]), proxy);
  assert.equal(await seenThrough(['-p', '-x', `http://${locked}`, '--proxy-user', `alice:${PASSWORD}`]), client, 'HTTP Basic');
  assert.equal(await seenThrough(['-x', `http://${locked}`, '--proxy-user', 'bob:bob-Pw']), proxy);
  assert.equal(await seenThrough(['-x', `socks4a://alice%3A${encodeURIComponent(PASSWORD)}@${locked}`]), client, 'SOCKS4a with user-id name:password');
  // A name on a direct rule is resolved by the daemon itself, where the lab names are unknown: REP 4.
  assert.match(await seenThrough(['-x', `socks5h://alice:${encodeURIComponent(PASSWORD)}@${locked}`], LAB_HOSTS.web4), /^curl exit 97: .*\(4\)/);

  const wrong = await seenThrough(['--socks5', locked, '--proxy-user', 'alice:wrong']);
  assert.match(wrong, /^curl exit 97: .*(authentication failed|User was rejected)/i);
  assert.match(await seenThrough(['--socks5', locked]), /^curl exit 97: /, 'no credentials: no acceptable method');
  const http = await curl(lab, 'client', nginx.url('/ip'), ['-x', `http://${locked}`, '--proxy-user', 'alice:wrong', '-o', '/dev/null', '-w', '%{http_code}']);
  assert.equal(http.stdout, '407');
  assert.match(await seenThrough(['--socks4', locked]), /^curl exit 97: .*rejected/, 'SOCKS4 without name:password');

  const logText = daemon.lines().map((l) => JSON.stringify(l)).join('\n');
  assert.ok(!logText.includes(PASSWORD) && !logText.includes('bob-Pw'), 'no password in the logs');
  assert.ok(daemon.lines().some((l) => l.reason === 'SG_ERR_AUTH_FAILED' && l.user === 'alice'), 'a failed login is logged with the name tried');
});

test('a name on a direct rule is resolved by the daemon and dialed: socks5h, socks4a and HTTP CONNECT reach it; a name it cannot resolve is REP 4, 0x5b, 502', async () => {
  const client = lab.addr.client;
  const alice = `alice:${encodeURIComponent(PASSWORD)}`;
  const modes = [['-x', `socks5h://${alice}@${locked}`], ['-x', `socks4a://alice%3A${encodeURIComponent(PASSWORD)}@${locked}`], ['-p', '-x', `http://${alice}@${locked}`]];
  for (const args of modes) {
    const { result, line } = await withFlowLine(daemon, `${NEAR}:80`, () => seenThrough(args, NEAR));
    assert.equal(result, client, args.join(' '));
    assert.deepEqual([line.inbound, line.outbound, line.user, line.outcome], ['socks', 'direct', 'alice', 'closed'], args.join(' '));
  }
  const big = await curl(lab, 'client', nginx.url('/10mb.bin', NEAR), ['-x', `socks5h://${alice}@${locked}`, '-o', '/dev/null', '-w', '%{size_download}']);
  assert.equal(big.stdout, String(10 * 1024 * 1024), big.stderr);
  const unknown = 'nowhere.lab.test';
  assert.match(await seenThrough(modes[0], unknown), /^curl exit 97: .*\(4\)/);
  assert.match(await seenThrough(modes[1], unknown), /^curl exit 97: .*\(91\)/);
  assert.match(await seenThrough(modes[2], unknown), /CONNECT tunnel failed, response 502/);
  const { line } = await withFlowLine(daemon, `${unknown}:80`, () => seenThrough(modes[0], unknown));
  assert.deepEqual([line.reason, line.outbound], ['SG_ERR_UPSTREAM_UNREACHABLE', 'direct']);
});

test('reject rules: SOCKS5 REP 2, SOCKS4 0x5b, HTTP 403, for a name and for a port', async () => {
  assert.match(await seenThrough(['--socks5-hostname', OPEN], BLOCKED), /^curl exit 97: .*\(2\)/);
  assert.match(await seenThrough(['--socks5', OPEN], '', `http://${lab.addr.internet}:81/ip`), /^curl exit 97: .*\(2\)/);
  assert.match(await seenThrough(['--socks4a', OPEN], BLOCKED), /^curl exit 97: .*\(91\)/);
  assert.match(await seenThrough(['-p', '-x', `http://${OPEN}`], BLOCKED), /CONNECT tunnel failed, response 403/);
  const plain = await curl(lab, 'client', nginx.url('/ip', BLOCKED), ['-x', `http://${OPEN}`, '-o', '/dev/null', '-w', '%{http_code}']);
  assert.equal(plain.stdout, '403');
  const { line } = await withFlowLine(daemon, `${BLOCKED}:80`, () => seenThrough(['--socks5-hostname', OPEN], BLOCKED));
  assert.deepEqual([line.reason, line.outbound, line.inbound], ['SG_ERR_REJECTED', 'reject', 'socks']);
});

test('connection refused by the target: SOCKS5 REP 5 (direct, and Dante\'s own REP passed on), HTTP 502', async () => {
  assert.match(await seenThrough(['--socks5', OPEN], '', `http://${lab.addr.internet}:82/ip`), /^curl exit 97: .*\(5\)/, 'through Dante');
  // Port 82 has no listener; alice goes direct, so the refusal is the daemon's own connect's.
  assert.match(await seenThrough(['--socks5', locked, '--proxy-user', `alice:${PASSWORD}`], '', `http://${lab.addr.internet}:82/ip`), /^curl exit 97: .*\(5\)/);
  const http = await curl(lab, 'client', `http://${lab.addr.internet}:82/ip`, ['-x', `http://${locked}`, '--proxy-user', `alice:${PASSWORD}`, '-o', '/dev/null', '-w', '%{http_code}']);
  assert.equal(http.stdout, '502');
});

test('Dante\'s socksify wraps an unmodified curl (no proxy flags) through the inbound', async () => {
  const conf = path.join(lab.dir, 'socksify.conf');
  writeFileSync(conf, ['route {', `  from: 0.0.0.0/0 to: 0.0.0.0/0 via: 127.0.0.1 port = 1080`, '  proxyprotocol: socks_v5', '  method: none', '}', ''].join('\n'));
  const { result, line } = await withFlowLine(daemon, `${lab.addr.internet}:80`, () =>
    lab.exec('client', 'socksify', ['curl', '-sS', '--max-time', '20', nginx.url('/ip')], { env: { ...process.env, SOCKS_CONF: conf }, allowFail: true, timeoutMs: 30_000 }),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), lab.addr.proxyInternetSide);
  assert.deepEqual([line.inbound, line.outbound], ['socks', 'dante']);
});

test('observable: flows with inbound socks and the user in status (live) and metrics', async () => {
  const held = lab.spawn('client', 'curl', ['-sS', '--limit-rate', '200k', '--socks5', locked, '--proxy-user', `alice:${PASSWORD}`, '-o', '/dev/null', nginx.url('/10mb.bin')], { name: 'slow-curl' });
  try {
    let status = '';
    for (let i = 0; i < 50 && !status.includes('socks (alice)'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await lab.exec('client', process.execPath, [...shebangFlags(MAIN), MAIN, 'status', '--control', control], { allowFail: true })).stdout;
    }
    assert.match(status, /socks \(alice\)\s+192\.0\.2\.2:\d+\s+198\.51\.100\.2:80\s+direct/, status);
  } finally {
    held.kill('SIGTERM');
    await held.exited();
  }
  const metrics = (await curl(lab, 'client', `http://${METRICS}/metrics`)).body;
  assert.match(metrics, /^socksgate_user_flows_total\{inbound="socks",user="alice",outcome="closed"\} [1-9]/m);
  assert.match(metrics, /^socksgate_flows_total\{inbound="socks",outbound="dante",outcome="closed"\} [1-9]/m);
  assert.ok(!metrics.includes(PASSWORD));
});

test('doctor tests each listener with a CONNECT through it (logged in as its first user) and warns about an open one', async () => {
  const doctor = async (args: readonly string[]) => (await lab.exec('client', process.execPath, [...shebangFlags(MAIN), MAIN, 'doctor', '--timeout', '3000', ...args], { allowFail: true })).stdout;
  const text = await doctor(['-c', config, '--target', `${lab.addr.internet}:80`]);
  assert.match(text, /^ok +inbound socks 127\.0\.0\.1:1080: CONNECT 198\.51\.100\.2:80: connected, no login needed$/m, text);
  assert.match(text, /^ok +inbound socks 192\.0\.2\.2:1081: CONNECT 198\.51\.100\.2:80: connected, login as "alice" accepted$/m, text);
  const open = await doctor(['--upstream', 'socks5://192.0.2.1:1080', '--socks', '127.0.0.1:1080']);
  assert.match(open, /^ok +inbound socks 127\.0\.0\.1:1080: SOCKS5 handshake answered, no login needed; give --target/m, open);
  const openFile = path.join(lab.dir, 'open.yaml');
  writeFileSync(openFile, `upstreams: [socks5://192.0.2.1:1080]\ninbounds: { socks: [{ listen: "0.0.0.0:1099", allow_open: true }] }\n`);
  const warned = await doctor(['-c', openFile]);
  assert.match(warned, /^warn +inbound socks 0\.0\.0\.0:1099: open: no users on a non-loopback address/m, warned);
  assert.match(warned, /^warn +inbound socks 0\.0\.0\.0:1099: not listening/m, warned);
});

test('a non-loopback listener without users refuses to start (exit 2, the key path and why)', async () => {
  const { code, stderr } = await runToExit(lab, 'client', ['--upstream', 'socks5://192.0.2.1:1080', '--socks', `${lab.addr.client}:1090`]);
  assert.equal(code, 2, stderr);
  assert.match(stderr, /inbounds\.socks\.0\.listen: 192\.0\.2\.2:1090 is not a loopback address and the listener has no users: anyone who can reach it could use it as an open proxy/);
});

test('reload (SIGHUP) picks up a changed password file: the old password is refused, the new one works, the listener stays', async () => {
  writeFileSync(bobPass, 'bob-New\n');
  const reloaded = daemon.lines().filter((l) => l.msg.startsWith('config reloaded')).length;
  daemon.proc.kill('SIGHUP');
  for (let i = 0; i < 100 && daemon.lines().filter((l) => l.msg.startsWith('config reloaded')).length === reloaded; i++) await new Promise((r) => setTimeout(r, 50));
  const line = daemon.lines().filter((l) => l.msg.startsWith('config reloaded')).at(-1);
  assert.deepEqual([line?.changed, line?.listenersAdded, line?.listenersRemoved], [['inbounds'], [], []], JSON.stringify(line));
  assert.match(await seenThrough(['-x', `socks5h://bob:bob-Pw@${locked}`]), /^curl exit 97: /);
  assert.equal(await seenThrough(['-x', `socks5h://bob:bob-New@${locked}`]), lab.addr.proxyInternetSide);
  assert.ok(!daemon.lines().map((l) => JSON.stringify(l)).join('\n').includes('bob-New'));
});

test('a stop (SIGTERM, drain deadline passed) while dials hang: SOCKS5 REP 1, SOCKS4 0x5b, HTTP 502, not a reset', async () => {
  const listen = '127.0.0.1:1086';
  const stopping = path.join(lab.dir, 'stopping.yaml');
  // 203.0.113.99 is routed into the internet namespace, where nothing has it: the connect hangs.
  writeFileSync(stopping, ['upstreams: [{ name: dante, url: "socks5://192.0.2.1:1080" }]', `inbounds: { socks: [{ listen: "${listen}" }] }`, 'route: { final: direct }', 'timeouts: { connect_ms: 60000, drain_ms: 300 }', ''].join('\n'));
  const stopped = await startSocksgate(lab, 'client', ['-c', stopping, '--control', 'off'], { name: 'sg-socks-stopping' });
  const hanging = 'http://203.0.113.99/ip';
  const tries = [['--socks5', listen], ['--socks4', listen], ['-p', '-x', `http://${listen}`]].map((args) => curl(lab, 'client', hanging, args));
  // Well inside curl's 5 s connect timeout: the three are dialing when the daemon stops.
  await new Promise((r) => setTimeout(r, 1_500));
  await stopped.stop();
  const [socks5, socks4, http] = await Promise.all(tries);
  assert.match(socks5!.stderr, /\(1\)/, socks5!.stderr);
  assert.match(socks4!.stderr, /\(91\)/, socks4!.stderr);
  assert.match(http!.stderr, /CONNECT tunnel failed, response 502/, http!.stderr);
  assert.ok(stopped.lines().some((l) => l.reason === 'SG_ERR_SHUTDOWN'), 'the cut flows are logged as stopped by the daemon');
});
