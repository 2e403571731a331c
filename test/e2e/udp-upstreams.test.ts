// UDP through other upstreams: v2ray (announced relay address as configured, and unconfigured so
// that it must be fixed up), microsocks (REP=7) and ssh -D (closes), which cannot relay UDP while
// TCP still works.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDnsmasq, startMicrosocks, startNginx, startSshSocks, startUdpEcho, startV2ray, type Lab } from './lab.js';
import { applyTproxyRules, applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT } from './socksgate.js';
import { digShort, finalUdpCounters, udpClient } from './udp-helpers.js';

const ECHO = 7001;
let lab: Lab;

before(async () => {
  lab = await createLab();
  await startDnsmasq(lab);
  await startNginx(lab);
  await startUdpEcho(lab, { ports: [ECHO] });
  await applyTproxyRules(lab, 'client');
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

const daemonArgs = (upstream: string) => ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', `[::]:${TPROXY_PORT}`];

test('v2ray (relay address as configured): dig and echo over UDP', async () => {
  const v2ray = await startV2ray(lab, { port: 1083 });
  const daemon = await startSocksgate(lab, 'client', daemonArgs(`socks5://${v2ray.host}:${v2ray.port}`), { name: 'sg-udp-v2ray' });
  try {
    const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test');
    assert.deepEqual(a.answer, [lab.addr.internet], `${a.output}\n${daemon.proc.output()}`);
    const echo = await udpClient(lab, 'client', { family: 4, targets: [{ to: `${lab.addr.internet}:${ECHO}`, count: 200 }] });
    assert.equal(echo.received, 200, `${JSON.stringify(echo)}\n${daemon.proc.output()}`);
    assert.equal(echo.corrupted, 0);
    assert.deepEqual(echo.wrongSource, []);
  } finally {
    assert.equal(await daemon.stop(), 0);
    await v2ray.stop();
  }
  assert.equal(daemon.lines().filter((l) => /relay address fixed up/.test(l.msg)).length, 0);
});

test('v2ray announcing an unusable relay address: fixed up to the server address, logged once', async () => {
  // Listening on every address without `ip`, v2ray announces `::` (or 127.0.0.1) as its relay.
  const port = 1084;
  const config = path.join(lab.dir, `v2ray-noip-${port}.json`);
  const inbound = { listen: '0.0.0.0', port, protocol: 'socks', settings: { auth: 'noauth', udp: true } };
  await fsp.writeFile(config, JSON.stringify({ log: { loglevel: 'warning' }, inbounds: [inbound], outbounds: [{ protocol: 'freedom' }] }));
  const v2ray = lab.spawn('proxy', 'v2ray', ['-config', config], { name: `v2ray-noip-${port}` });
  await lab.waitForPort('proxy', lab.addr.proxyClientSide, port, 10_000, v2ray);
  const daemon = await startSocksgate(lab, 'client', daemonArgs(`socks5://${lab.addr.proxyClientSide}:${port}`), { name: 'sg-udp-v2ray-noip' });
  try {
    for (const name of ['web.lab.test', 'alt.lab.test']) {
      const a = await digShort(lab, 'client', lab.addr.internet, name);
      assert.deepEqual(a.answer, [name === 'web.lab.test' ? lab.addr.internet : lab.addr.extraTarget], `${a.output}\n${daemon.proc.output()}`);
    }
  } finally {
    assert.equal(await daemon.stop(), 0);
    await lab.kill(v2ray);
  }
  const fixups = daemon.lines().filter((l) => /relay address fixed up/.test(l.msg));
  assert.equal(fixups.length, 1, JSON.stringify(daemon.lines().filter((l) => /udp association/.test(l.msg))));
  assert.equal(fixups[0].relay, `${lab.addr.proxyClientSide}:${port}`);
});

test('microsocks (no UDP): one warning, datagrams dropped and counted, TCP still served', async () => {
  const micro = await startMicrosocks(lab, { port: 1081 });
  const daemon = await startSocksgate(lab, 'client', daemonArgs(`socks5://${micro.host}:${micro.port}`), { name: 'sg-udp-micro' });
  try {
    for (let i = 0; i < 3; i++) {
      const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A', { tries: 1, timeS: 1 });
      assert.notEqual(a.code, 0, a.output); // no answer: the query was dropped
    }
    await daemon.waitFor(/does not relay UDP/);
    const small = await curl(lab, 'client', `http://${lab.addr.internet}/small.txt`);
    assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
    assert.match(small.body, /small\.txt/);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
    await micro.stop();
  }
  const warnings = daemon.lines().filter((l) => /does not relay UDP/.test(l.msg));
  assert.equal(warnings.length, 1, daemon.proc.output());
  const counters = finalUdpCounters(daemon);
  assert.ok(counters.droppedNoUdp >= 3, JSON.stringify(counters));
  assert.equal(counters.datagramsOut, 0);
});

test('ssh -D (closes on UDP ASSOCIATE): one warning, TCP still served', async () => {
  const ssh = await startSshSocks(lab, { port: 1082 });
  const daemon = await startSocksgate(lab, 'client', daemonArgs(`socks5://${ssh.host}:${ssh.port}`), { name: 'sg-udp-ssh' });
  try {
    for (let i = 0; i < 2; i++) {
      const a = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A', { tries: 1, timeS: 1 });
      assert.notEqual(a.code, 0, a.output);
    }
    await daemon.waitFor(/does not relay UDP/);
    const small = await curl(lab, 'client', `http://${lab.addr.internet}/small.txt`);
    assert.equal(small.code, 0, `${small.stderr}\n${daemon.proc.output()}`);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
    await ssh.stop();
  }
  assert.equal(daemon.lines().filter((l) => /does not relay UDP/.test(l.msg)).length, 1);
  assert.ok(finalUdpCounters(daemon).droppedNoUdp >= 2);
});
