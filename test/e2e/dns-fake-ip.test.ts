import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, LAB_IFACE, startDante, waitForLog, startDnsmasq, startNginx, type DnsmasqHandle, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const DNS = '127.0.0.53';
const POOL_V4 = /^198\.1[89]\.\d+\.\d+$/;

let lab: Lab;
let nginx: NginxHandle;
let dnsmasq: DnsmasqHandle;
let dante: SocksHandle;
let stateFile: string;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  dnsmasq = await startDnsmasq(lab);
  dante = await startDante(lab, { port: 1080 });
  await applyRedirectRules(lab, 'client');
  // Pool addresses need a route for connect() to reach the REDIRECT rule; they never leave the client.
  await lab.exec('client', 'ip', ['route', 'add', '198.18.0.0/15', 'via', lab.addr.proxyClientSide]);
  writeFileSync(lab.resolvConfPath('client'), `nameserver ${DNS}\noptions timeout:2 attempts:1\n`);
  stateFile = path.join(lab.dir, 'state', 'fake-ip.json');
});
after(() => lab?.destroy());

function startFakeIp(name: string): Promise<Daemon> {
  return startSocksgate(
    lab,
    'client',
    [
      '--upstream', `socks5://${dante.host}:${dante.port}`,
      '--mark', String(DAEMON_MARK),
      '--dns', `${DNS}:53`,
      '--dns-upstream', `tcp://${lab.addr.internet}:53`,
      '--fake-ip',
      '--fake-ip-state', stateFile,
      '--fake-ip-exclude', 'alt.lab.test',
    ],
    { name },
  );
}

async function dig(args: readonly string[]): Promise<string> {
  const r = await lab.exec('client', 'dig', [`@${DNS}`, '+time=5', '+tries=1', '+short', ...args], { allowFail: true, timeoutMs: 15_000 });
  return r.stdout.trim();
}

/**
 * Asserts that while `fn` ran the client asked Dante for `name`: a SOCKS5 CONNECT by name (ATYP 3)
 * carries the name's bytes, one by IP does not. Dante's own log shows the address it resolved, not
 * what it was asked, so this reads a capture on the client's outer interface (bounded wait for it).
 */
async function assertAskedByName(name: string, fn: () => Promise<void>): Promise<void> {
  const pcap = path.join(lab.dir, `socks-${Date.now()}.pcap`);
  const args = ['-i', LAB_IFACE.clientToProxy, '-Z', 'root', '--immediate-mode', '-n', '-U', '-w', pcap, 'tcp', 'dst', 'port', String(dante.port)];
  const dump = lab.spawn('client', 'tcpdump', args, { name: 'tcpdump' });
  await waitForLog(dump.logPath, 'listening on', 5_000);
  let text = '';
  try {
    await fn();
    const deadline = Date.now() + 5_000;
    while (!text.includes(name) && Date.now() < deadline) {
      text = (await lab.exec('client', 'tcpdump', ['-r', pcap, '-n', '-A'], { allowFail: true })).stdout;
      if (!text.includes(name)) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await lab.kill(dump);
  }
  assert.ok(text.includes(name), `Dante was never asked for ${name}:\n${text}`);
}

test('fake-IP: curl by name is CONNECTed by name, the client never learns the real address, the mapping survives a restart', async () => {
  let daemon = await startFakeIp('sg-fake-1');
  let fake: string;
  try {
    fake = await dig(['web.lab.test']);
    assert.match(fake, POOL_V4, daemon.proc.output());
    assert.match(await dig(['AAAA', 'web.lab.test']), /^fc00:/i, 'AAAA from the IPv6 pool');
    assert.equal(await dig(['-x', fake]), 'web.lab.test.', 'PTR of a pool address is its name');
    assert.equal(await dig(['alt.lab.test']), lab.addr.extraTarget, 'an excluded suffix is resolved for real');
    await dig(['MX', 'web.lab.test']);
    assert.ok(readFileSync(dnsmasq.proc.logPath, 'utf8').includes('query[MX] web.lab.test'), 'other types are forwarded');

    await assertAskedByName('web.lab.test', async () => {
      const page = await curl(lab, 'client', 'http://web.lab.test/small.txt', ['-v']);
      assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
      assert.equal(page.body, nginx.smallText);
      assert.ok(page.stderr.includes(fake), `curl connected to the pool address: ${page.stderr}`);
      assert.ok(!page.stderr.includes(lab.addr.internet), 'the client never saw the real address');
    });
    assert.match(readFileSync(dante.log, 'utf8'), /tcp\/connect .*-> .* 198\.51\.100\.2\.80/, 'and Dante resolved and reached it');

    const unmapped = await curl(lab, 'client', 'http://198.19.255.200/');
    assert.notEqual(unmapped.code, 0, 'a pool address with no name is refused');
    await daemon.waitFor(/SG_ERR_NO_MAPPING/);
  } finally {
    await daemon.stop();
  }

  assert.ok(existsSync(stateFile), 'the mapping was saved');
  daemon = await startFakeIp('sg-fake-2');
  try {
    // After the restart, the pool address still stands for the name.
    await assertAskedByName('web.lab.test', async () => {
      const again = await curl(lab, 'client', `http://${fake}/small.txt`);
      assert.equal(again.code, 0, `${again.stderr}\n${daemon.proc.output()}`);
      assert.equal(again.body, nginx.smallText);
    });
    assert.equal(await dig(['web.lab.test']), fake, 'and the name keeps its address');
  } finally {
    await daemon.stop();
  }
});
