// Route actions end to end: per destination, a flow goes direct (the target sees the client's own
// address), through Dante (the target sees the proxy's), or is reset at once; over REDIRECT and
// TPROXY, IPv4 and IPv6, with an `inbound` rule telling the two apart. UDP over TPROXY: a rejected
// port is dropped and counted while another echoes through Dante, and a direct UDP flow.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, startUdpEcho, type Lab, type SocksHandle } from './lab.js';
import { addTargets, httpUrl, notResetAtOnce, routeClientDirectly, seenBy, seenOverUdp, startUdpWhoami, udpAsk, withFlowLine } from './route-lab.js';
import { applyRedirectRules, applyTproxyRecipe, DAEMON_MARK, REDIRECT_PORT, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { udpClient } from './udp-helpers.js';

/** Per family: sent direct, rejected, and direct over TPROXY only (rejected over REDIRECT). */
const DIRECT = { v4: '203.0.113.10', v6: '2001:db8:3::10' };
const REJECTED = { v4: '203.0.113.20', v6: '2001:db8:3::20' };
const BY_INBOUND = { v4: '203.0.113.30', v6: '2001:db8:3::30' };
const UDP_ECHO = 7001;
const UDP_REJECTED = 7009;
const UDP_WHOAMI = 7005;
const METRICS = '127.0.0.1:9464';

let lab: Lab;
let dante: SocksHandle;
let daemon: Daemon;

before(async () => {
  lab = await createLab({ ipv6: true });
  await routeClientDirectly(lab);
  await addTargets(lab, [REJECTED.v4, REJECTED.v6, BY_INBOUND.v4, BY_INBOUND.v6]);
  await startNginx(lab);
  await startUdpEcho(lab, { ports: [UDP_ECHO, UDP_REJECTED] });
  await startUdpWhoami(lab, DIRECT.v4, UDP_WHOAMI);
  await startUdpWhoami(lab, DIRECT.v6, UDP_WHOAMI);
  dante = await startDante(lab, { port: 1080 });
  const config = path.join(lab.dir, 'route-actions.yaml');
  const both = (a: { v4: string; v6: string }) => `${a.v4}/32, "${a.v6}/128"`;
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
      `redirect: ["127.0.0.1:${REDIRECT_PORT}", "[::1]:${REDIRECT_PORT}"]`,
      `tproxy: ["[::]:${TPROXY_PORT}"]`,
      'route:',
      '  final: dante',
      '  rules:',
      `    - { inbound: tproxy, cidr: [${both(BY_INBOUND)}], action: direct }`,
      `    - { cidr: [${both(REJECTED)}, ${both(BY_INBOUND)}], action: reject }`,
      `    - { cidr: [${both(DIRECT)}], action: direct }`,
      `    - { network: udp, port: [${UDP_REJECTED}], action: reject }`,
      '',
    ].join('\n'),
  );
  daemon = await startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--metrics', METRICS, '--control', 'off'], { name: 'sg-route-actions' });
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

/** direct, Dante and reject for one family and inbound, then BY_INBOUND (direct over TPROXY only). */
async function threeWays(family: 'v4' | 'v6', inbound: 'redirect' | 'tproxy'): Promise<void> {
  const A = lab.addr;
  const client = family === 'v4' ? A.client : A.client6;
  const proxied = family === 'v4' ? A.internet : A.internet6;
  const dst = (host: string) => (host.includes(':') ? `[${host}]:80` : `${host}:80`);
  const context = () => `${family} over ${inbound}\n${daemon.proc.output()}`;

  const direct = await withFlowLine(daemon, dst(DIRECT[family]), () => seenBy(lab, DIRECT[family]));
  assert.equal(direct.result, client, `direct: the target sees the client itself (${context()})`);
  assert.equal(direct.line.outbound, 'direct');
  assert.equal(direct.line.inbound, inbound);
  assert.match(String(direct.line.rule), /^cidr=\[.*\] → direct$/);

  const viaDante = await withFlowLine(daemon, dst(proxied), () => seenBy(lab, proxied));
  assert.equal(viaDante.result, family === 'v4' ? A.proxyInternetSide : A.proxyInternetSide6, `through Dante (${context()})`);
  assert.ok(readFileSync(dante.log, 'utf8').includes(`${proxied}.80`), `Dante's log shows the CONNECT to ${proxied}`);
  assert.equal(viaDante.line.outbound, 'dante');
  assert.equal(viaDante.line.rule, 'final → dante');

  const rejected = await withFlowLine(daemon, dst(REJECTED[family]), () => notResetAtOnce(lab, httpUrl(REJECTED[family], '/ip')));
  assert.equal(rejected.result, undefined, context());
  assert.equal(rejected.line.outbound, 'reject');
  assert.equal(rejected.line.reason, 'SG_ERR_REJECTED');
  assert.ok(!readFileSync(dante.log, 'utf8').includes(`${REJECTED[family]}.80`), 'a rejected flow never reaches Dante');

  // inbound: tproxy sends BY_INBOUND direct; over REDIRECT the next rule rejects it.
  if (inbound === 'tproxy') {
    assert.equal(await seenBy(lab, BY_INBOUND[family]), client, `inbound rule (${context()})`);
  } else {
    assert.equal(await notResetAtOnce(lab, httpUrl(BY_INBOUND[family], '/ip')), undefined, `inbound rule (${context()})`);
  }
}

test('REDIRECT: one address direct, one through Dante, one reset at once; IPv4 and IPv6', async () => {
  await applyRedirectRules(lab, 'client');
  await applyRedirectRules(lab, 'client', { ipv6: true });
  try {
    await threeWays('v4', 'redirect');
    await threeWays('v6', 'redirect');
  } finally {
    // REDIRECT off before TPROXY goes on (allowFail: a failure above may have left no chain to remove).
    for (const cmd of ['iptables', 'ip6tables']) {
      for (const args of [['-D', 'OUTPUT', '-p', 'tcp', '-j', 'SG_REDIR'], ['-F', 'SG_REDIR'], ['-X', 'SG_REDIR']]) {
        await lab.exec('client', cmd, ['-t', 'nat', ...args], { allowFail: true });
      }
    }
  }
});

test('TPROXY: the same three ways, and an `inbound: tproxy` rule that REDIRECT flows do not match; IPv4 and IPv6', async () => {
  await applyTproxyRecipe(lab, 'client', 'tcp');
  await threeWays('v4', 'tproxy');
  await threeWays('v6', 'tproxy');
});

async function rejectedDrops(): Promise<number> {
  const scrape = await curl(lab, 'client', `http://${METRICS}/metrics`);
  assert.equal(scrape.code, 0, scrape.stderr);
  const m = /^socksgate_udp_drops_total\{reason="rejected"\} (\d+)$/m.exec(scrape.body);
  assert.ok(m, `no rejected drops counter in:\n${scrape.body}`);
  return Number(m[1]);
}

test('UDP over TPROXY: a rejected port is dropped and counted, another port echoes through Dante, a direct flow shows the client address', async () => {
  await applyTproxyRecipe(lab, 'client', 'udp');
  const A = lab.addr;
  const dropsBefore = await rejectedDrops();
  for (const host of [A.internet, A.internet6]) {
    assert.deepEqual(await udpAsk(lab, 'client', host, UDP_REJECTED, 1_000), {}, `no echo from a rejected port (${host})`);
  }
  assert.equal((await rejectedDrops()) - dropsBefore, 2, 'each rejected datagram is counted');

  const echo = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${A.internet}:${UDP_ECHO}`, count: 20 }] });
  assert.equal(echo.received, 20, `${JSON.stringify(echo)}\n${daemon.proc.output()}`);
  assert.deepEqual(echo.wrongSource, []);
  assert.equal((await rejectedDrops()) - dropsBefore, 2, 'nothing else was rejected');

  for (const [host, client] of [
    [DIRECT.v4, A.client],
    [DIRECT.v6, A.client6],
  ] as const) {
    const answer = await seenOverUdp(lab, host, UDP_WHOAMI);
    assert.equal(answer.seen, client, `direct UDP: the target sees the client (${host})\n${daemon.proc.output()}`);
    assert.equal(answer.from, `${host}:${UDP_WHOAMI}`, 'the reply comes from the target');
  }
});
