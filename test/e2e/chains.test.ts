// Chains: curl through Dante → Dante (username/password on hop 2) and Dante → tinyproxy (HTTP
// CONNECT), each hop's log showing its leg; dig and a UDP echo through a two-hop SOCKS5 chain of
// Dante servers (N-fold encapsulation); a refusal at hop 2 names that hop; a group as hop 1.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLab, curl, startDante, startDnsmasq, startNginx, startTinyproxy, startUdpEcho, TEST_PASS, TEST_USER, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { digShort, finalUdpCounters, udpClient } from './udp-helpers.js';

const ECHO = 7001;

let lab: Lab;
let nginx: NginxHandle;
let hop1: SocksHandle;
let hop2Auth: SocksHandle;
let hop2: SocksHandle;
let tiny: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startDnsmasq(lab);
  await startUdpEcho(lab, { ports: [ECHO] });
  hop1 = await startDante(lab, { port: 1080 });
  hop2Auth = await startDante(lab, { port: 1090, auth: 'userpass', internetSide: true });
  hop2 = await startDante(lab, { port: 1095, internetSide: true });
  // Hop 1 (Dante) connects from its external address (198.51.100.1), so the hops behind it listen there.
  tiny = await startTinyproxy(lab, { port: 8888, listen: lab.addr.proxyInternetSide, allow: [lab.addr.internetNet] });
  await applyRedirectRules(lab, 'client');
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

const UPSTREAMS = () => [
  `  - { name: d1, url: "socks5://${hop1.host}:${hop1.port}" }`,
  `  - { name: d2auth, url: "socks5://${TEST_USER}@${lab.addr.proxyInternetSide}:${hop2Auth.port}", password_env: SG_PASS }`,
  `  - { name: d2, url: "socks5://${lab.addr.proxyInternetSide}:${hop2.port}" }`,
  `  - { name: tiny, url: "http://${tiny.host}:${tiny.port}" }`,
  `  - { name: d2wrong, url: "socks5://${TEST_USER}:wrong-password@${lab.addr.proxyInternetSide}:${hop2Auth.port}" }`,
  '  - { name: d1-d2auth, chain: [d1, d2auth] }',
  '  - { name: d1-d2wrong, chain: [d1, d2wrong] }',
  '  - { name: d1-tiny, chain: [d1, tiny] }',
  '  - { name: d1-d2, chain: [d1, d2] }',
];

async function withChain(final: string, name: string, body: (daemon: Daemon) => Promise<void>, extraArgs: readonly string[] = [], more: { upstreams?: string[]; yaml?: string[] } = {}): Promise<Daemon> {
  const config = path.join(lab.dir, `${name}.yaml`);
  await fsp.writeFile(config, ['upstreams:', ...UPSTREAMS(), ...(more.upstreams ?? []), ...(more.yaml ?? []), 'route:', `  final: ${final}`, ''].join('\n'));
  const daemon = await startSocksgate(lab, 'client', ['--config', config, '--mark', String(DAEMON_MARK), '--tproxy', `0.0.0.0:${TPROXY_PORT}`, '--redirect', '127.0.0.1:12345', ...extraArgs], {
    name,
    env: { SG_PASS: TEST_PASS },
  });
  try {
    await body(daemon);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  return daemon;
}

/** Lines of a Dante log that record a CONNECT (not its disconnect) from `from` to `to` (`a.b.c.d.port`). */
function danteLegs(handle: SocksHandle, from: string, to: string): string[] {
  return readFileSync(handle.log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('tcp/connect ]:') && l.includes(` ${from}.`) && l.includes(` ${to}`));
}

// Without optimistic data the addon dials (a DialPlan of the composed handshake); with it, Node does
// and the client's first bytes ride in the last hop's write.
for (const [mode, args] of [['native dialer', []], ['Node dialer, optimistic data', ['--optimistic-data']]] as const) {
  test(`Dante → Dante (username/password on hop 2), ${mode}: curl gets the page; hop 1 connects to hop 2, hop 2 to the target`, async () => {
    const before1 = danteLegs(hop1, lab.addr.client, `${lab.addr.proxyInternetSide}.${hop2Auth.port}`).length;
    const before2 = danteLegs(hop2Auth, lab.addr.proxyInternetSide, `${lab.addr.internet}.80`).length;
    await withChain('d1-d2auth', `sg-chain-auth-${args.length}`, async (daemon) => {
      const small = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
      assert.equal(small.body, nginx.smallText);
      const seen = await curl(lab, 'client', nginx.url('/ip'));
      assert.equal(seen.body.trim(), lab.addr.proxyInternetSide, 'the target saw hop 2');
    }, args);
    await legsLogged(hop1, lab.addr.client, `${lab.addr.proxyInternetSide}.${hop2Auth.port}`, before1 + 2);
    await legsLogged(hop2Auth, lab.addr.proxyInternetSide, `${lab.addr.internet}.80`, before2 + 2);
  });
}

/** Waits (bounded: Dante's children log a moment after the flow) for `count` such lines in all. */
async function legsLogged(handle: SocksHandle, from: string, to: string, count: number): Promise<void> {
  for (let waited = 0; danteLegs(handle, from, to).length < count && waited < 3_000; waited += 100) await delay(100);
  assert.equal(danteLegs(handle, from, to).length, count, readFileSync(handle.log, 'utf8'));
}

test('Dante → tinyproxy (HTTP CONNECT): curl gets the page; tinyproxy saw the CONNECT from hop 1; UDP is dropped with one warning', async () => {
  await withChain('d1-tiny', 'sg-chain-http', async (daemon) => {
    const small = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
    assert.equal(small.body, nginx.smallText);
    for (const name of ['web.lab.test', 'alt.lab.test']) {
      const dig = await digShort(lab, 'client', lab.addr.internet, name, 'A', { tries: 1, timeS: 1 });
      assert.deepEqual(dig.answer.filter((l) => !l.startsWith(';')), [], dig.output);
    }
    const warnings = daemon.lines().filter((l) => /does not relay UDP/.test(l.msg));
    assert.equal(warnings.length, 1, daemon.proc.output());
    assert.match(warnings[0].msg, /tiny cannot relay UDP/);
  });
  await legsLogged(hop1, lab.addr.client, `${lab.addr.proxyInternetSide}.${tiny.port}`, 1);
  const tinyLog = readFileSync(tiny.log, 'utf8');
  assert.match(tinyLog, new RegExp(`Request \\(file descriptor \\d+\\): CONNECT ${lab.addr.internet.replace(/\./g, '\\.')}:80`), tinyLog);
});

test('a refusal at hop 2 resets the flow, and the log names hop 2; the daemon stays up', async () => {
  await withChain('d1-d2wrong', 'sg-chain-refused', async (daemon) => {
    const r = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.notEqual(r.code, 0);
    const failed = await daemon.waitFor(/flow failed/);
    assert.equal(failed.reason, 'SG_ERR_AUTH_FAILED', JSON.stringify(failed));
    assert.match(failed.msg, /d1-d2wrong hop 2 \(d2wrong\): upstream rejected the username\/password/);
    assert.ok(!JSON.stringify(daemon.lines()).includes('wrong-password'), 'the password never shows in the log');
  });
});

test('UDP through a two-hop Dante chain (N-fold encapsulation): dig and 200 echo datagrams; each hop ran an association', async () => {
  const daemon = await withChain('d1-d2', 'sg-chain-udp', async (daemon) => {
    const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A');
    assert.deepEqual(a.answer, [lab.addr.internet], `${a.output}\n${daemon.proc.output()}\n${readFileSync(hop1.log, 'utf8')}\n${readFileSync(hop2.log, 'utf8')}`);
    const echo = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 200, minSize: 1, maxSize: 1400 }] });
    assert.equal(echo.received, 200, `${JSON.stringify(echo)}\n${daemon.proc.output()}`);
    assert.equal(echo.corrupted, 0);
    assert.deepEqual(echo.wrongSource, []);
  });
  const counters = finalUdpCounters(daemon);
  assert.equal(counters.droppedMalformed, 0, JSON.stringify(counters));
  // Hop 1 relayed to hop 2's relay, hop 2 to the target.
  assert.match(readFileSync(hop1.log, 'utf8'), /udp\/udpassociate/);
  assert.match(readFileSync(hop2.log, 'utf8'), /udp\/udpassociate/);
});

test('a group as hop 1: the chain goes through its usable member (the dead one is probed down and skipped)', async () => {
  const legsBefore = danteLegs(hop1, lab.addr.client, `${lab.addr.proxyInternetSide}.${hop2.port}`).length;
  const group = [
    'groups:',
    `  - { name: entry, policy: failover, members: [dead, d1], fail_after: 1, check: { interval_s: 30, timeout_ms: 1000, tcp: "${lab.addr.internet}:80" } }`,
  ];
  const upstreams = [`  - { name: dead, url: "socks5://${hop1.host}:1" }`, '  - { name: entry-d2, chain: [entry, d2] }'];
  await withChain(
    'entry-d2',
    'sg-chain-group-hop',
    async (daemon) => {
      // The probe runs at start; until it is back, a flow may still pick the dead member (a chain does not fail over mid-handshake).
      let r = await curl(lab, 'client', nginx.url('/small.txt'));
      for (let i = 0; i < 20 && r.code !== 0; i++) {
        await delay(250);
        r = await curl(lab, 'client', nginx.url('/small.txt'));
      }
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.proc.output()}`);
      assert.equal(r.body, nginx.smallText);
    },
    [],
    { upstreams, yaml: group },
  );
  assert.ok(danteLegs(hop1, lab.addr.client, `${lab.addr.proxyInternetSide}.${hop2.port}`).length > legsBefore, 'the live member (d1) connected to hop 2');
});
