// The UDP path's bounds, through Dante: idle associations expire, the association cap evicts the
// least recently used one, and the full-cone reply sockets stay within their bound (file
// descriptors of the daemon counted) after replies from 2,000 distinct remote ports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, startDante, startUdpEcho, type Lab } from './lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { finalUdpCounters, udpClient } from './udp-helpers.js';

const ECHO = 7001;
const SPRAY_FROM = 5000;
const SPRAY_COUNT = 2000;
const REPLY_SOCKETS = 50;

let lab: Lab;
let upstream: string;

before(async () => {
  lab = await createLab();
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
  await startUdpEcho(lab, { ports: [ECHO], range: [SPRAY_FROM, SPRAY_FROM + SPRAY_COUNT - 1], hosts: [lab.addr.internet] });
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

function start(extra: string[], name: string): Promise<Daemon> {
  return startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`, ...extra], { name });
}

const echoOnce = () => udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 2 }] });

test('an idle association expires (--udp-timeout) and a new datagram opens a fresh one', async () => {
  const daemon = await start(['--udp-timeout', '1'], 'sg-udp-expiry');
  try {
    const first = await echoOnce();
    assert.equal(first.received, 2, JSON.stringify(first));
    const closed = await daemon.waitFor(/"reason":"idle".*"msg":"udp association closed"/, 10_000);
    assert.equal(closed.sent, 2);
    const again = await echoOnce();
    assert.equal(again.received, 2, JSON.stringify(again));
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const counters = finalUdpCounters(daemon);
  assert.ok(counters.associationsExpired >= 1, JSON.stringify(counters));
  assert.equal(counters.associationsOpened, 2);
});

test('--udp-max-associations: the least recently used association is closed to make room', async () => {
  const daemon = await start(['--udp-max-associations', '2'], 'sg-udp-cap');
  try {
    // Each client run is a new socket, so a new client address:port and a new association.
    for (let i = 0; i < 4; i++) {
      const r = await echoOnce();
      assert.equal(r.received, 2, JSON.stringify(r));
    }
    await daemon.waitFor(/"reason":"lru".*"msg":"udp association closed"/);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const counters = finalUdpCounters(daemon);
  assert.equal(counters.associationsOpened, 4, JSON.stringify(counters));
  assert.equal(counters.associationsEvicted, 2);
});

test(`reply sockets stay within udp.max_reply_sockets after ${SPRAY_COUNT} distinct remote ports`, async () => {
  const config = path.join(lab.dir, 'udp-limits.yaml');
  await fsp.writeFile(config, `udp:\n  max_reply_sockets: ${REPLY_SOCKETS}\n`);
  const daemon = await start(['--config', config], 'sg-udp-reply-bound');
  const fds = () => fs.readdirSync(`/proc/${daemon.proc.pid}/fd`).length;
  let peak = 0;
  try {
    const warm = await echoOnce();
    assert.equal(warm.received, 2);
    const baseline = fds();
    const targets = Array.from({ length: SPRAY_COUNT }, (_, i) => ({ to: `${lab.addr.internet}:${SPRAY_FROM + i}` }));
    const sampler = setInterval(() => (peak = Math.max(peak, fds())), 20);
    let r;
    try {
      r = await udpClient(lab, 'client', { family: 4, targets }, 120_000);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, fds());
    assert.equal(r.received, SPRAY_COUNT, JSON.stringify(r));
    assert.deepEqual(r.wrongSource, []);
    // One association for the spraying client (2 fds), the rest is the bounded reply-socket cache.
    assert.ok(peak <= baseline + REPLY_SOCKETS + 4, `fds: baseline ${baseline}, peak ${peak}`);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
  const counters = finalUdpCounters(daemon);
  assert.ok(counters.replySocketsOpened >= SPRAY_COUNT, JSON.stringify(counters));
  assert.ok(counters.replySocketsEvicted >= SPRAY_COUNT - REPLY_SOCKETS, JSON.stringify(counters));
});
