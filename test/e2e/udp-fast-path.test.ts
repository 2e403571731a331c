// The addon's established UDP path (src/native/udp-fast.c): once a (client, destination) pair's first
// datagram has been routed in JavaScript, the pair's datagrams go from the TPROXY listener to the
// relay, and the relay's replies to the client, inside the addon. What users see stays the same:
// (through a SOCKS5 relay or direct) every byte both ways, every datagram in the counters and the metrics, idle associations expire
// with their full counts, the reply-socket bound holds, and broken relay replies are dropped and
// counted while the daemon carries on.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startUdpEcho, type Lab } from './lab.js';
import { routeClientDirectly } from './route-lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT, type Daemon } from './socksgate.js';
import { finalUdpCounters, udpClient } from './udp-helpers.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const ECHO = 7001;
const SPREAD_FROM = 7100;
const SPREAD = 20;
const BAD_PORT = 7666;
const SILENT_PORT = 7667;
const RELAY_PORT = 1181;
const METRICS = '127.0.0.1:9464';

let lab: Lab;
let dante: string;
let echoRelay: string;

before(async () => {
  lab = await createLab();
  await routeClientDirectly(lab); // for the direct test: the internet namespace routes back to the client
  const d = await startDante(lab, { port: 1080 });
  dante = `socks5://${d.host}:${d.port}`;
  await startUdpEcho(lab, { ports: [ECHO], range: [SPREAD_FROM, SPREAD_FROM + SPREAD - 1], hosts: [lab.addr.internet] });
  const args = [path.join(FIXTURES, 'udp-echo-relay.mjs'), '--host', lab.addr.proxyClientSide, '--port', String(RELAY_PORT), '--bad-port', String(BAD_PORT), '--silent-port', String(SILENT_PORT)];
  const relay = lab.spawn('proxy', process.execPath, args, { name: 'udp-echo-relay' });
  await lab.waitForPort('proxy', lab.addr.proxyClientSide, RELAY_PORT, 5_000, relay);
  echoRelay = `socks5://${lab.addr.proxyClientSide}:${RELAY_PORT}`;
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

function start(upstream: string, extra: string[], name: string): Promise<Daemon> {
  return startSocksgate(lab, 'client', ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`, ...extra], { name });
}

function metric(text: string, pattern: RegExp): number {
  const m = pattern.exec(text);
  assert.ok(m, `${pattern} not in\n${text}`);
  return Number(m[1]);
}

test('through Dante: 1,000 datagrams each way, nearly all through the addon, every one in the counters and the metrics', async () => {
  const daemon = await start(dante, ['--metrics', METRICS], 'sg-udp-fast');
  let sent: number;
  try {
    const r = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 1000, minSize: 1, maxSize: 1400 }] });
    assert.equal(r.received, 1000, JSON.stringify(r));
    assert.equal(r.corrupted, 0);
    assert.deepEqual(r.wrongSource, []);
    sent = r.sent;
    const text = (await curl(lab, 'client', `http://${METRICS}/metrics`)).body;
    // Each datagram reached the daemon once per send (retries included), and every leg counts all of them.
    const fromApp = metric(text, /^socksgate_udp_datagrams_total\{direction="from_app"\} (\d+)$/m);
    assert.equal(fromApp, sent, text);
    assert.equal(metric(text, /^socksgate_udp_datagrams_total\{direction="to_upstream"\} (\d+)$/m), fromApp);
    assert.ok(metric(text, /^socksgate_udp_datagrams_total\{direction="to_app"\} (\d+)$/m) >= 1000, text);
    assert.equal(metric(text, /^socksgate_route_decisions_total\{network="udp",action="upstream",rule="final"\} (\d+)$/m), fromApp, text);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const c = finalUdpCounters(daemon);
  assert.equal(c.datagramsIn, sent, JSON.stringify(c));
  assert.equal(c.datagramsOut, sent);
  assert.equal(c.repliesIn, c.repliesOut);
  assert.ok(c.repliesOut >= 1000, JSON.stringify(c));
  // Only the first datagram (and the first reply, which opens the reply socket) needs JavaScript.
  assert.ok(c.datagramsFastPath >= 2 * 1000 - 10, JSON.stringify(c));
  assert.equal(c.droppedMalformed + c.droppedSendError, 0, JSON.stringify(c));
});

test('an association used only through the addon still expires when idle, with its full counts, and a new one opens', async () => {
  const daemon = await start(dante, ['--udp-timeout', '1'], 'sg-udp-fast-idle');
  try {
    const r = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 50 }] });
    assert.equal(r.received, 50, JSON.stringify(r));
    const closed = await daemon.waitFor(/"reason":"idle".*"msg":"udp association closed"/, 10_000);
    assert.equal(closed.sent, r.sent, JSON.stringify(closed));
    assert.ok((closed.received as number) >= 50, JSON.stringify(closed));
    const again = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 5 }] });
    assert.equal(again.received, 5, JSON.stringify(again));
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const c = finalUdpCounters(daemon);
  assert.equal(c.associationsOpened, 2, JSON.stringify(c));
  assert.ok(c.associationsExpired >= 1);
  assert.ok(c.datagramsFastPath > 0);
});

test(`udp.max_reply_sockets bounds the addon's tables too: ${SPREAD} remotes through 5 reply sockets, every echo back`, async () => {
  const config = path.join(lab.dir, 'udp-fast-bound.yaml');
  await fsp.writeFile(config, 'udp:\n  max_reply_sockets: 5\n');
  const daemon = await start(dante, ['--config', config], 'sg-udp-fast-bound');
  try {
    // Twice round the remotes, three datagrams each: each pass evicts every reply socket (and its pair) again.
    const targets = [0, 1].flatMap(() => Array.from({ length: SPREAD }, (_, i) => ({ to: `${lab.addr.internet}:${SPREAD_FROM + i}`, count: 3 })));
    const r = await udpClient(lab, 'client', { family: 4, targets });
    assert.equal(r.received, 2 * SPREAD * 3, JSON.stringify(r));
    assert.deepEqual(r.wrongSource, []);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const c = finalUdpCounters(daemon);
  assert.ok(c.replySocketsEvicted >= 2 * SPREAD - 5, JSON.stringify(c));
  assert.ok(c.datagramsFastPath > 0, JSON.stringify(c));
  assert.equal(c.repliesOut, 2 * SPREAD * 3);
});

test('broken relay replies (reserved bytes, truncated, unknown address type, FRAG) are dropped and counted; the daemon carries on', async () => {
  const daemon = await start(echoRelay, [], 'sg-udp-fast-bad');
  try {
    const r = await udpClient(lab, 'client', {
      family: 4,
      retries: 0,
      timeoutMs: 500,
      targets: [
        { to: `${lab.addr.internet}:${ECHO}`, count: 5 },
        { to: `${lab.addr.internet}:${BAD_PORT}`, count: 20 },
        { to: `${lab.addr.internet}:${SILENT_PORT}`, count: 3 },
        { to: `${lab.addr.internet}:${ECHO}`, count: 5 },
      ],
    });
    assert.equal(r.received, 30, JSON.stringify(r));
    assert.equal(r.lost, 3);
    assert.equal(r.corrupted, 0);
    assert.deepEqual(r.wrongSource, []);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const c = finalUdpCounters(daemon);
  assert.equal(c.droppedMalformed, 3 * 23, JSON.stringify(c));
  assert.equal(c.droppedFragmented, 23);
  assert.equal(c.repliesOut, 30);
  assert.ok(c.datagramsFastPath > 0);
});

test('direct UDP (route final: direct) takes the same path: 300 echoes, nearly all through the addon', async () => {
  const config = path.join(lab.dir, 'udp-fast-direct.yaml');
  await fsp.writeFile(config, ['upstreams:', `  - { name: dante, url: "${dante}" }`, `tproxy: ["[::]:${TPROXY_PORT}"]`, 'route:', '  final: direct', ''].join('\n'));
  const daemon = await startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK)], { name: 'sg-udp-fast-direct' });
  try {
    const r = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 300, minSize: 1, maxSize: 1400 }] });
    assert.equal(r.received, 300, `${JSON.stringify(r)}\n${daemon.proc.output()}`);
    assert.equal(r.corrupted, 0);
    assert.deepEqual(r.wrongSource, []);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const c = finalUdpCounters(daemon);
  assert.ok(c.datagramsFastPath >= 2 * 300 - 10, JSON.stringify(c));
  assert.equal(c.datagramsOut, c.datagramsIn);
  assert.ok(c.repliesOut >= 300);
});
