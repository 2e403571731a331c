import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, curl, LAB_IFACE, startDante, startMicrosocks, startNginx, startSshSocks, startTinyproxy, startV2ray, TEST_PASS, TEST_USER, waitForLog, type Lab, type LabProcess, type NginxHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon, type LogLine } from './socksgate.js';

/**
 * --optimistic-data against real servers: each serves the flow, the daemon says it sent the
 * request in the handshake (earlyBytes) and counts every byte once, and for SOCKS5 a capture on the
 * client ⇄ proxy link shows greeting, CONNECT and request in one segment. (The one-write handshake
 * is also checked by counting reads in test/unit/outbound/socks5.test.ts.)
 */
const BANNER_PORT = 2525;
let lab: Lab;
let nginx: NginxHandle;
const upstreams: Record<string, string> = {};

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  const dante = await startDante(lab, { port: 1080 });
  const ssh = await startSshSocks(lab, { port: 1082 });
  const v2ray = await startV2ray(lab, { port: 1083 });
  const micro = await startMicrosocks(lab, { port: 1081, user: TEST_USER, pass: TEST_PASS });
  const tiny = await startTinyproxy(lab, { port: 8888, user: TEST_USER, pass: TEST_PASS });
  Object.assign(upstreams, {
    Dante: `socks5://${dante.host}:${dante.port}`,
    'ssh -D': `socks5://${ssh.host}:${ssh.port}`,
    v2ray: `socks5://${v2ray.host}:${v2ray.port}`,
    microsocks: `socks5://${TEST_USER}:${TEST_PASS}@${micro.host}:${micro.port}`,
    // One request and one reply: nothing to learn, so optimistic data takes `pipelining=on`.
    'tinyproxy (HTTP CONNECT)': `http://${TEST_USER}:${TEST_PASS}@${tiny.host}:${tiny.port}?pipelining=on`,
    'Dante (SOCKS4)': `socks4://nobody@${dante.host}:${dante.port}?pipelining=on`,
    'ssh -D (SOCKS4a)': `socks4a://nobody@${ssh.host}:${ssh.port}?pipelining=on`,
  });
  // A server that speaks first (like SSH or SMTP) and then waits for the client.
  const banner = lab.spawn('internet', 'socat', [`TCP-LISTEN:${BANNER_PORT},reuseaddr,fork`, 'SYSTEM:echo 220 banner-first; sleep 20'], { name: 'socat-banner' });
  await lab.waitForPort('internet', lab.addr.internet, BANNER_PORT, 10_000, banner);
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

async function withDaemon(name: string, extra: string[], body: (daemon: Daemon) => Promise<void>): Promise<void> {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', upstreams[name], '--mark', String(DAEMON_MARK), '--optimistic-data', ...extra], {
    name: `sg-od-${name.replace(/\W+/g, '-')}${extra.join('').replace(/\W+/g, '-')}`,
  });
  try {
    await body(daemon);
  } finally {
    await daemon.stop();
  }
}

/** Client → proxy segments carrying data (PSH) to `port`, printed one a line (length N). */
async function captureSegments(port: number): Promise<LabProcess> {
  const args = ['-i', LAB_IFACE.clientToProxy, '--immediate-mode', '-l', '-nn', `tcp dst port ${port} and tcp[tcpflags] & tcp-push != 0`];
  const dump = lab.spawn('client', 'tcpdump', args, { name: `tcpdump-od-${port}` });
  await waitForLog(dump.logPath, 'listening on', 5_000);
  return dump;
}

async function fetchSmall(daemon: Daemon): Promise<LogLine> {
  const page = await curl(lab, 'client', nginx.url('/small.txt'));
  assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
  assert.equal(page.body, nginx.smallText);
  return daemon.waitFor(/"msg":"flow finished"/);
}

for (const [name, relay] of [
  ['Dante', 'splice'],
  ['Dante', 'copy'],
  ['ssh -D', 'splice'],
  ['v2ray', 'splice'],
  ['tinyproxy (HTTP CONNECT)', 'splice'],
  ['Dante (SOCKS4)', 'splice'],
  ['ssh -D (SOCKS4a)', 'splice'],
] as const) {
  test(`optimistic data through ${name} (relay ${relay}): the request goes in the handshake, counted once`, async () => {
    await withDaemon(name, ['--relay', relay], async (daemon) => {
      const socks5 = upstreams[name].startsWith('socks5:');
      if (socks5) await daemon.waitFor(/takes a pipelined handshake/, 10_000);
      const dump = socks5 ? await captureSegments(Number(new URL(upstreams[name]).port)) : undefined;
      const finished = await fetchSmall(daemon);
      assert.ok(typeof finished.earlyBytes === 'number' && finished.earlyBytes > 0, JSON.stringify(finished));
      if (dump) {
        // Greeting (3) + CONNECT to an IPv4 address (10) + the request, in one segment.
        await waitForLog(dump.logPath, new RegExp(`length ${3 + 10 + finished.earlyBytes}$`, 'm'), 5_000).finally(() => lab.kill(dump));
      }
      // curl writes its whole request at once: all of it went in the handshake, none through the relay.
      assert.equal(finished.up, finished.earlyBytes, JSON.stringify(finished));
      const big = await curl(lab, 'client', nginx.url('/10mb.bin'), ['-o', '/dev/null', '-w', '%{size_download}']);
      assert.equal(big.code, 0, big.stderr);
      assert.equal(big.body.trim(), String(nginx.bigSize));
    });
  });
}

test('optimistic data: microsocks (drops pipelined bytes) is learned step-by-step and never gets any', async () => {
  await withDaemon('microsocks', [], async (daemon) => {
    await daemon.waitFor(/drops pipelined handshakes/, 10_000);
    const finished = await fetchSmall(daemon);
    assert.equal(finished.earlyBytes, undefined, JSON.stringify(finished));
  });
});

test('optimistic data: a server-speaks-first protocol is still served (the wait is bounded)', async () => {
  await withDaemon('Dante', [], async (daemon) => {
    await daemon.waitFor(/takes a pipelined handshake/, 10_000);
    const client = lab.spawn('client', 'socat', ['-T', '15', 'STDIO', `TCP:${lab.addr.internet}:${BANNER_PORT}`], { name: 'socat-banner-od', stdin: 'pipe' });
    try {
      const deadline = Date.now() + 5_000;
      while (!client.output().includes('220 banner-first') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(client.output().includes('220 banner-first'), `no banner:\n${client.output()}\n${daemon.proc.output()}`);
    } finally {
      await lab.kill(client);
    }
  });
});
