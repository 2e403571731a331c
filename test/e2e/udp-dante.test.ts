// UDP through TPROXY and Dante's UDP ASSOCIATE: DNS with dig, a 1,000-datagram echo exchange and the
// full-cone reply path, over IPv4 and IPv6, with and without a username/password.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, startDante, startDnsmasq, startUdpEcho, type Lab, type SocksHandle } from './lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { digShort, finalUdpCounters, udpClient } from './udp-helpers.js';

const ECHO_A = 7001;
const ECHO_B = 7002;
const SHIFTED = 7003;
const SHIFTED_FROM = 7004;

let lab: Lab;
let dante: SocksHandle;
let danteAuth: SocksHandle;
let danteCone: SocksHandle;

before(async () => {
  lab = await createLab({ ipv6: true });
  await startDnsmasq(lab);
  await startUdpEcho(lab, { ports: [ECHO_A, ECHO_B], shifted: [[SHIFTED, SHIFTED_FROM]] });
  dante = await startDante(lab, { port: 1080 });
  danteAuth = await startDante(lab, { port: 1090, auth: 'userpass' });
  danteCone = await startDante(lab, { port: 1095, udpConnectDst: false });
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

async function withDaemon(upstream: string, name: string, body: (daemon: Daemon) => Promise<void>): Promise<Record<string, number>> {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`], { name });
  try {
    await body(daemon);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  return finalUdpCounters(daemon);
}

test('Dante, no auth: dig over UDP and 1,000 echo datagrams, IPv4 and IPv6', async () => {
  const counters = await withDaemon(`socks5://${dante.host}:${dante.port}`, 'sg-udp-dante', async (daemon) => {
    const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A');
    assert.deepEqual(a.answer, [lab.addr.internet], `${a.output}\n${daemon.proc.output()}`);
    const alt = await digShort(lab, 'client', lab.addr.internet, 'alt.lab.test', 'A');
    assert.deepEqual(alt.answer, [lab.addr.extraTarget], alt.output);
    const aaaa = await digShort(lab, 'client', lab.addr.internet6, 'web.lab.test', 'AAAA');
    assert.deepEqual(aaaa.answer, [lab.addr.internet6], `${aaaa.output}\n${daemon.proc.output()}`);

    const v4 = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO_A}`, count: 1000, minSize: 1, maxSize: 1400 }] });
    assert.equal(v4.received, 1000, JSON.stringify(v4));
    assert.equal(v4.corrupted, 0);
    assert.deepEqual(v4.wrongSource, []);
    const v6 = await udpClient(lab, 'client', { family: 6, targets: [{ to: `[${lab.addr.internet6}]:${ECHO_A}`, count: 200, minSize: 1, maxSize: 1400 }] });
    assert.equal(v6.received, 200, JSON.stringify(v6));
    assert.equal(v6.corrupted, 0);
    assert.deepEqual(v6.wrongSource, []);
  });
  assert.ok(counters.associationsOpened >= 5, JSON.stringify(counters));
  assert.equal(counters.droppedMalformed, 0);
});

test('Dante with username/password: dig over UDP gets the right answer', async () => {
  const url = `socks5://${danteAuth.user}:${danteAuth.pass}@${danteAuth.host}:${danteAuth.port}`;
  await withDaemon(url, 'sg-udp-dante-auth', async (daemon) => {
    const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A');
    assert.deepEqual(a.answer, [lab.addr.internet], `${a.output}\n${daemon.proc.output()}`);
    const echo = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.extraTarget}:${ECHO_B}`, count: 50 }] });
    assert.equal(echo.received, 50, `${JSON.stringify(echo)}\n${daemon.proc.output()}`);
    assert.deepEqual(echo.wrongSource, []);
  });
});

// Dante's default `udp.connectdst: yes` loses an IPv6 association's replies from a second remote
// host (IPv4 is unaffected); full cone through Dante over IPv6 needs `udp.connectdst: no`.
test('full cone through Dante: one socket, two remote hosts, and a remote replying from another port', async () => {
  await withDaemon(`socks5://${danteCone.host}:${danteCone.port}`, 'sg-udp-cone', async (daemon) => {
    for (const [family, host, other] of [
      [4, lab.addr.internet, lab.addr.extraTarget],
      [6, `[${lab.addr.internet6}]`, `[${lab.addr.extraTarget6}]`],
    ] as const) {
      const r = await udpClient(lab, 'client', {
        family,
        targets: [
          { to: `${host}:${ECHO_A}`, count: 3 },
          { to: `${other}:${ECHO_B}`, count: 3 },
          { to: `${host}:${SHIFTED}`, expectFrom: `${host}:${SHIFTED_FROM}`, count: 3 },
          { to: `${host}:${ECHO_A}`, count: 1 },
        ],
      });
      assert.equal(r.received, 10, `${JSON.stringify(r)}\n${daemon.proc.output()}`);
      assert.deepEqual(r.wrongSource, []);
      assert.deepEqual(new Set(r.sources), new Set([`${host}:${ECHO_A}`, `${other}:${ECHO_B}`, `${host}:${SHIFTED_FROM}`]));
    }
  });
});
