// Fake-IP on the UDP path: the client resolves a name through socksgate's DNS (a pool address),
// sends UDP to that address through TPROXY, and socksgate asks Dante to relay it by name (SOCKS5 UDP
// header ATYP 3). Dante resolves the name, the echo server answers from its real address, and the
// client sees the answers from the pool address it sent to. A pool address with no name is dropped.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, LAB_IFACE, startDante, startDnsmasq, startUdpEcho, waitForLog, type Lab, type SocksHandle } from './lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT } from './socksgate.js';
import { digShort, finalUdpCounters, udpClient } from './udp-helpers.js';

const DNS = '127.0.0.53';
const POOL_V4 = /^198\.1[89]\.\d+\.\d+$/;
const ECHO = 7001;
const NAME = 'web.lab.test';

let lab: Lab;
let dante: SocksHandle;

before(async () => {
  lab = await createLab();
  await startDnsmasq(lab); // the proxy side resolves web.lab.test to the echo server's address
  await startUdpEcho(lab, { ports: [ECHO] });
  dante = await startDante(lab, { port: 1080 });
  await applyTproxyUdpRules(lab, 'client');
  // Pool addresses need a route for sendto() to reach the TPROXY rule; they never leave the client.
  await lab.exec('client', 'ip', ['route', 'add', '198.18.0.0/15', 'via', lab.addr.proxyClientSide]);
});
after(() => lab?.destroy());

/** SOCKS5 UDP request headers (RSV RSV FRAG ATYP ADDR PORT) of the IPv4/UDP datagrams in a pcap (Ethernet). */
function socksUdpHeaders(pcap: Buffer): { atyp: number; host: string; port: number }[] {
  const out: { atyp: number; host: string; port: number }[] = [];
  for (let at = 24; at + 16 <= pcap.length; ) {
    const len = pcap.readUInt32LE(at + 8);
    const frame = pcap.subarray(at + 16, at + 16 + len);
    at += 16 + len;
    if (frame.length < 14 + 20 + 8 || frame.readUInt16BE(12) !== 0x0800 || frame[14 + 9] !== 17) continue;
    const udp = frame.subarray(14 + (frame[14] & 0x0f) * 4 + 8);
    if (udp.length < 10 || udp[0] !== 0 || udp[1] !== 0 || udp[2] !== 0) continue;
    const atyp = udp[3];
    if (atyp === 3) {
      const n = udp[4];
      out.push({ atyp, host: udp.subarray(5, 5 + n).toString('latin1'), port: udp.readUInt16BE(5 + n) });
    } else if (atyp === 1) {
      out.push({ atyp, host: [...udp.subarray(4, 8)].join('.'), port: udp.readUInt16BE(8) });
    } else {
      out.push({ atyp, host: '?', port: 0 });
    }
  }
  return out;
}

test('fake-IP UDP: datagrams to a pool address go to Dante by name, echoes come back from the pool address; no name, no send', async () => {
  const daemon = await startSocksgate(
    lab,
    'client',
    [
      '--upstream', `socks5://${dante.host}:${dante.port}`,
      '--mark', String(DAEMON_MARK),
      '--tproxy', `[::]:${TPROXY_PORT}`,
      '--dns', `${DNS}:53`,
      '--dns-upstream', `tcp://${lab.addr.internet}:53`,
      '--fake-ip',
    ],
    { name: 'sg-udp-fake-ip' },
  );
  const pcap = path.join(lab.dir, `socks-udp-${Date.now()}.pcap`);
  const dump = lab.spawn('client', 'tcpdump', ['-i', LAB_IFACE.clientToProxy, '-Z', 'root', '--immediate-mode', '-n', '-U', '-w', pcap, 'udp', 'and', 'dst', 'host', dante.host], { name: 'tcpdump-udp' });
  let headers: ReturnType<typeof socksUdpHeaders>;
  try {
    await waitForLog(dump.logPath, 'listening on', 5_000);
    const a = await digShort(lab, 'client', DNS, NAME, 'A');
    assert.equal(a.answer.length, 1, `${a.output}\n${daemon.proc.output()}`);
    const fake = a.answer[0];
    assert.match(fake, POOL_V4, a.output);

    const echo = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${fake}:${ECHO}`, count: 20, minSize: 1, maxSize: 1200 }] });
    assert.equal(echo.received, 20, `${JSON.stringify(echo)}\n${daemon.proc.output()}`);
    assert.equal(echo.corrupted, 0);
    assert.deepEqual(echo.wrongSource, [], 'every echo came from the pool address:port the client sent to');
    assert.deepEqual(echo.sources, [`${fake}:${ECHO}`]);

    const unmapped = await udpClient(lab, 'client', { family: 4, timeoutMs: 500, retries: 0, targets: [{ to: `198.19.255.200:${ECHO}`, count: 1 }] });
    assert.equal(unmapped.received, 0, JSON.stringify(unmapped));
    await daemon.waitFor(/SG_ERR_NO_MAPPING/);

    // Bounded wait for the capture to hold the datagrams (tcpdump writes each packet as it comes).
    const deadline = Date.now() + 5_000;
    do {
      headers = socksUdpHeaders(readFileSync(pcap));
      if (headers.length >= 20) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
  } finally {
    await lab.kill(dump);
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  assert.ok(headers.length >= 20, `captured ${headers.length} SOCKS5 UDP datagrams to Dante`);
  assert.deepEqual(new Set(headers.map((h) => `${h.atyp} ${h.host}:${h.port}`)), new Set([`3 ${NAME}:${ECHO}`]), 'every datagram was addressed by name (ATYP 3), none to the pool address or elsewhere');
  assert.match(readFileSync(dante.log, 'utf8'), /198\.51\.100\.2\.7001/, 'Dante resolved the name and reached the echo server');

  const counters = finalUdpCounters(daemon);
  assert.ok(counters.droppedNoMapping >= 1, JSON.stringify(counters));
  assert.ok(counters.repliesOut >= 20, JSON.stringify(counters));
});
