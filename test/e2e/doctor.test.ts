import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, startDante, startDnsmasq, startMicrosocks, startNginx, startUdpEcho, TEST_PASS, TEST_USER, type Lab } from './lab.js';
import { MAIN, rules } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

/** `socksgate doctor` in the client namespace, against real upstreams in the proxy namespace. */

let lab: Lab;
let dante: string;
let microsocks: string;
let danteAuth: { host: string; port: number };

before(async () => {
  lab = await createLab({ ipv6: true });
  await startDnsmasq(lab);
  await startNginx(lab);
  await startUdpEcho(lab, { ports: [7] });
  const d = await startDante(lab, { port: 1080 });
  dante = `socks5://${d.host}:${d.port}`;
  danteAuth = await startDante(lab, { port: 1085, auth: 'userpass' });
  const m = await startMicrosocks(lab, { port: 1081 });
  microsocks = `socks5://${m.host}:${m.port}`;
});
after(() => lab?.destroy());

async function doctor(args: readonly string[]): Promise<{ code: number; lines: string[]; text: string }> {
  const r = await lab.exec('client', process.execPath, [MAIN, 'doctor', '--timeout', '3000', ...args], { allowFail: true });
  return { code: r.code, lines: r.stdout.trim().split('\n'), text: `${r.stdout}${r.stderr}` };
}

function line(lines: readonly string[], pattern: RegExp): string {
  const found = lines.find((l) => pattern.test(l));
  assert.ok(found, `no line matches ${pattern}:\n${lines.join('\n')}`);
  return found;
}

test('healthy: rules installed, Dante with UDP, a daemon running → every check ok, exit 0; a damaged rule set → exit 1', async () => {
  const args = ['--upstream', dante, '--mark', String(DAEMON_MARK), '--tproxy', '[::]:12347', '--dns', '127.0.0.1:5353', '--dns-upstream', `tcp://${lab.addr.internet}:53`, '--rules-backend', 'nft'];
  await rules(lab, 'client', 'apply', args);
  const daemon = await startSocksgate(lab, 'client', args);
  try {
    const r = await doctor([...args, '--udp-echo', `${lab.addr.internet}:7`, '--target', `${lab.addr.internet}:80`, '--target', `[${lab.addr.internet6}]:80`]);
    assert.equal(r.code, 0, r.text);
    assert.match(line(r.lines, /^ok +kernel:/), /REDIRECT, TPROXY \(IPv4, IPv6\) and the socket match are supported/);
    assert.match(line(r.lines, /backend:/), /^ok +backend: nft; iptables is iptables-/);
    line(r.lines, /^ok +policy routing:/);
    assert.match(line(r.lines, /capabilities:/), new RegExp(`^ok +capabilities: the running daemon \\(pid ${daemon.proc.pid}\\) has .*CAP_NET_ADMIN`));
    assert.match(line(r.lines, /rules:/), /^ok +rules: installed and intact \(nft table inet socksgate, policy routing\)/);
    line(r.lines, /^ok +upstream .*: reachable: TCP connection to 192\.0\.2\.1:1080/);
    line(r.lines, /^ok +upstream .*: auth: no login needed/);
    line(r.lines, /^ok +upstream .*: pipelining: taken/);
    line(r.lines, /^ok +upstream .*: UDP ASSOCIATE: supported, relay at 192\.0\.2\.1:\d+/);
    line(r.lines, /^ok +upstream .*: UDP relay: a datagram to 198\.51\.100\.2:7 through 192\.0\.2\.1:\d+ came back intact/);
    line(r.lines, /^ok +upstream .*: IPv6 CONNECT \[2001:db8:2::2\]:80: connected/);
    line(r.lines, /^ok +DNS leak: queries to 192\.0\.2\.1 \(port 53\) are captured to socksgate's DNS listener on port 5353/);
    assert.ok(r.lines.every((l) => /^(ok|info) /.test(l) || /^socksgate doctor: nothing is broken/.test(l)), r.text);

    await lab.exec('client', 'nft', ['flush', 'chain', 'inet', 'socksgate', 'mangle_output']);
    const damaged = await doctor(args);
    assert.equal(damaged.code, 1, damaged.text);
    assert.match(line(damaged.lines, /rules:/), /^FAIL +rules: nft table inet socksgate installed but not intact: mangle_output has 0 rules, expected \d+/);
  } finally {
    await daemon.stop();
    await rules(lab, 'client', 'flush', args);
  }
});

test('microsocks: says plainly that it takes no pipelining and has no UDP; rules not installed is a warning; exit 0', async () => {
  const r = await doctor(['--upstream', microsocks, '--redirect', '127.0.0.1:12345', '--mark', String(DAEMON_MARK)]);
  assert.equal(r.code, 0, r.text);
  line(r.lines, /^warn +rules: not installed/);
  line(r.lines, /^ok +upstream .*: auth: no login needed/);
  line(r.lines, /^info +upstream .*: pipelining: not taken: the server ignores bytes sent before its reply; socksgate talks to it step by step/);
  line(r.lines, /^warn +upstream .*: UDP ASSOCIATE: not supported \(upstream refused: .*\): UDP cannot go through this upstream/);
});

test('an unreachable upstream and a rejected login each fail with a plain reason, exit 1', async () => {
  const down = await doctor(['--upstream', `socks5://${lab.addr.proxyClientSide}:1999`, '--redirect', '127.0.0.1:12345', '--mark', String(DAEMON_MARK)]);
  assert.equal(down.code, 1, down.text);
  assert.match(down.text, /^FAIL +upstream .*: reachable: cannot connect to 192\.0\.2\.1:1999: ECONNREFUSED: is the server running/m);

  const badLogin = await doctor(['--upstream', `socks5://${TEST_USER}:wrong-${TEST_PASS}@${danteAuth.host}:${danteAuth.port}`, '--redirect', '127.0.0.1:12345', '--mark', String(DAEMON_MARK)]);
  assert.equal(badLogin.code, 1, badLogin.text);
  line(badLogin.lines, new RegExp(`^FAIL +upstream .*: auth: the server rejected the login of "${TEST_USER}"`));

  const goodLogin = await doctor(['--upstream', `socks5://${TEST_USER}:${TEST_PASS}@${danteAuth.host}:${danteAuth.port}`, '--redirect', '127.0.0.1:12345', '--mark', String(DAEMON_MARK)]);
  line(goodLogin.lines, new RegExp(`^ok +upstream .*: auth: username "${TEST_USER}" accepted`));
});

test('groups: each group names its broken members and why, and the members UDP flows skip', async () => {
  const file = path.join(lab.dir, 'doctor-groups.yaml');
  writeFileSync(
    file,
    [
      'upstreams:',
      `  - { name: dante, url: "${dante}" }`,
      `  - { name: micro, url: "${microsocks}" }`,
      `  - { name: down, url: "socks5://${lab.addr.proxyClientSide}:1999" }`,
      `  - { name: badlogin, url: "socks5://${TEST_USER}:wrong-${TEST_PASS}@${danteAuth.host}:${danteAuth.port}" }`,
      'groups:',
      '  - { name: main, members: [dante, micro, down, badlogin] }',
      '  - { name: dead, policy: round-robin, members: [down, badlogin] }',
      '  - { name: outer, members: [dead, main] }',
      'redirect: ["127.0.0.1:12345"]',
      '',
    ].join('\n'),
  );
  const r = await doctor(['--config', file]);
  assert.equal(r.code, 1, r.text);
  const main = line(r.lines, /^warn +group main \(failover\):/);
  assert.match(main, /down is broken \(reachable: cannot connect to 192\.0\.2\.1:1999: ECONNREFUSED/);
  assert.match(main, new RegExp(`badlogin is broken \\(auth: the server rejected the login of "${TEST_USER}"`));
  assert.match(main, /2 of 4 members work; no UDP through micro \(UDP flows skip it\)/);
  assert.match(line(r.lines, /group dead/), /^FAIL +group dead \(round-robin\): .*0 of 2 members work/);
  assert.match(line(r.lines, /group outer/), /^warn +group outer \(failover\): dead is broken \(every member is broken\); 1 of 2 members work/);
});
