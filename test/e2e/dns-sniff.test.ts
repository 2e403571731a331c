import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startNginx, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const TLS_PORT = 8443;
const BANNER_PORT = 2525;

let lab: Lab;
let nginx: NginxHandle;
let dante: SocksHandle;
let daemon: Daemon;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  dante = await startDante(lab, { port: 1080 });
  const key = path.join(lab.dir, 'tls.key');
  const cert = path.join(lab.dir, 'tls.crt');
  await lab.exec('internet', 'openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=alt.lab.test', '-keyout', key, '-out', cert]);
  // -www answers GET / with a status page naming s_server.
  const tls = lab.spawn('internet', 'openssl', ['s_server', '-quiet', '-accept', String(TLS_PORT), '-cert', cert, '-key', key, '-www'], { name: 'openssl-s_server' });
  await lab.waitForPort('internet', lab.addr.extraTarget, TLS_PORT, 10_000, tls);
  // A server that speaks first (like SSH or SMTP) and then waits for the client.
  const banner = lab.spawn('internet', 'socat', [`TCP-LISTEN:${BANNER_PORT},reuseaddr,fork`, 'SYSTEM:echo 220 banner-first; sleep 20'], { name: 'socat-banner' });
  await lab.waitForPort('internet', lab.addr.internet, BANNER_PORT, 10_000, banner);
  await applyRedirectRules(lab, 'client');
  daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${dante.host}:${dante.port}`, '--mark', String(DAEMON_MARK), '--sniff'], { name: 'sg-sniff' });
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

/**
 * Each request goes to 198.51.100.2 but names alt.lab.test, which Dante resolves to 203.0.113.10:
 * seeing that address in Dante's log proves the CONNECT carried the name, not the IP.
 */
function danteReached(address: string, port: number): boolean {
  return readFileSync(dante.log, 'utf8').includes(`${address}.${port}`);
}

test('sniffing: an HTTP Host sends the flow upstream by name', async () => {
  const page = await curl(lab, 'client', 'http://alt.lab.test/small.txt', ['--resolve', `alt.lab.test:80:${lab.addr.internet}`]);
  assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
  assert.equal(page.body, nginx.smallText);
  assert.ok(danteReached(lab.addr.extraTarget, 80), readFileSync(dante.log, 'utf8'));
});

test('sniffing: a TLS SNI sends the flow upstream by name', async () => {
  const page = await curl(lab, 'client', `https://alt.lab.test:${TLS_PORT}/`, ['-k', '--resolve', `alt.lab.test:${TLS_PORT}:${lab.addr.internet}`]);
  assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
  assert.match(page.body, /s_server/);
  assert.ok(danteReached(lab.addr.extraTarget, TLS_PORT), readFileSync(dante.log, 'utf8'));
});

test('sniffing: a server-speaks-first protocol is not held up waiting for client bytes', async () => {
  const client = lab.spawn('client', 'socat', ['-T', '15', 'STDIO', `TCP:${lab.addr.internet}:${BANNER_PORT}`], { name: 'socat-banner-client', stdin: 'pipe' });
  try {
    // Bounded: the sniffer gives up after 300 ms; without a bound the banner would never come.
    const deadline = Date.now() + 5_000;
    while (!client.output().includes('220 banner-first') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(client.output().includes('220 banner-first'), `no banner:\n${client.output()}\n${daemon.proc.output()}`);
  } finally {
    await lab.kill(client);
  }
});
