// Smoke tests of the e2e lab itself, without socksgate: every server the socksgate e2e tests use
// works from the client namespace, traffic reaches the internet only through a proxy, and the lab
// leaves nothing behind.
//
//   node --import tsx --test test/e2e/lab.test.ts        (root; scripts/test-deps first)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LAB_ADDR as A,
  LAB_HOSTS,
  SMALL_TXT,
  TEST_PASS,
  TEST_USER,
  createLab,
  curl,
  sha256File,
  startDante,
  startEcho,
  startMicrosocks,
  startNginx,
  startSshSocks,
  startTinyproxy,
  sweepStaleLabs,
  waitForLog,
  type CurlResult,
  type EchoHandle,
  type Lab,
  type NginxHandle,
  type SocksHandle,
} from './lab.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const T = { timeout: 20_000 };

let lab: Lab;
let nginx: NginxHandle;
let danteNone: SocksHandle;
let danteUser: SocksHandle;
let danteBlock: SocksHandle;
let micro: SocksHandle;
let ssh: SocksHandle;
let tiny: SocksHandle;
let echo: EchoHandle;
let eofEcho: EchoHandle;

before(
  async () => {
    lab = await createLab({ ipv6: true });
    [nginx, danteNone, danteUser, danteBlock, micro, ssh, tiny, echo, eofEcho] = await Promise.all([
      startNginx(lab),
      startDante(lab, { port: 1080, auth: 'none' }),
      startDante(lab, { port: 1180, auth: 'userpass' }),
      startDante(lab, { port: 1280, auth: 'none', block: [A.targetNet, A.targetNet6] }),
      startMicrosocks(lab, { port: 1081, user: 'mu', pass: 'mp-secret' }),
      startSshSocks(lab, { port: 1082 }),
      startTinyproxy(lab, { port: 8888, user: 'tu', pass: 'tp-secret' }),
      startEcho(lab, { port: 7 }),
      startEcho(lab, { port: 9, halfCloseEcho: true }),
    ]);
  },
  { timeout: 60_000 },
);

after(async () => {
  await lab?.destroy();
});

function ok(r: CurlResult, what: string): void {
  assert.equal(r.code, 0, `${what}: curl exit ${r.code}: ${r.stderr}`);
}

const small = () => nginx.url('/small.txt');

test('topology: three namespaces, client routes via the proxy, proxy does not forward', T, async () => {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const ns of Object.values(lab.ns)) {
    assert.match(ns, /^sg-[a-z0-9]{6}-[cpi]$/);
    assert.ok(list.includes(ns), `${ns} in ip netns list`);
  }
  const route = await lab.exec('client', 'ip', ['route', 'get', A.internet]);
  assert.match(route.stdout, new RegExp(`via ${A.proxyClientSide.replace(/\./g, '\\.')}`));
  const route6 = await lab.exec('client', 'ip', ['-6', 'route', 'get', A.internet6]);
  assert.match(route6.stdout, new RegExp(`via ${A.proxyClientSide6}`));
  const fwd = await lab.exec('proxy', 'sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']);
  assert.deepEqual(fwd.stdout.trim().split(/\s+/), ['0', '0']);
  const tw = await lab.exec('client', 'sysctl', ['-n', 'net.ipv4.tcp_tw_reuse']);
  assert.equal(tw.stdout.trim(), '1');
  // per-namespace resolv.conf / hosts are bound over /etc by `ip netns exec`
  const resolv = await lab.exec('client', 'cat', ['/etc/resolv.conf']);
  assert.match(resolv.stdout, new RegExp(`socksgate e2e lab ${lab.id}`));
  const hosts = await lab.exec('proxy', 'getent', ['hosts', LAB_HOSTS.alt]);
  assert.match(hosts.stdout, /203\.0\.113\.10/);
  const clientHosts = await lab.exec('client', 'getent', ['hosts', LAB_HOSTS.alt], { allowFail: true });
  assert.notEqual(clientHosts.code, 0, 'the client does not resolve lab names by itself');
});

test('isolation: a direct connection from the client does not reach the internet', T, async () => {
  const targets = [small(), nginx.url('/small.txt', A.extraTarget), nginx.url('/small.txt', A.internet6)];
  const results = await Promise.all(targets.map((u) => curl(lab, 'client', u, ['--connect-timeout', '2'])));
  for (const [i, r] of results.entries()) assert.notEqual(r.code, 0, `direct ${targets[i]} must fail`);
  const log = fs.readFileSync(nginx.accessLog, 'utf8');
  assert.ok(!log.includes(A.client), 'nginx never saw the client address');
});

test('Dante, no auth, SOCKS5: small.txt; the target sees the proxy address', T, async () => {
  const r = await curl(lab, 'client', small(), ['--socks5', `${danteNone.host}:${danteNone.port}`]);
  ok(r, 'dante socks5');
  assert.equal(r.body, SMALL_TXT);
  const ip = await curl(lab, 'client', nginx.url('/ip'), ['--socks5', `${danteNone.host}:${danteNone.port}`]);
  ok(ip, 'dante /ip');
  assert.equal(ip.body.trim(), A.proxyInternetSide);
  const line = await waitForLog(nginx.accessLog, '"GET /small.txt');
  assert.ok(line.startsWith(`${A.proxyInternetSide} `), `access log: ${line}`);
  assert.ok(!fs.readFileSync(nginx.accessLog, 'utf8').includes(A.client));
  await waitForLog(danteNone.log, `-> ${A.proxyInternetSide}.`); // Dante logs the CONNECT
});

test('Dante, no auth, SOCKS5 with a host name resolved at the proxy', T, async () => {
  const r = await curl(lab, 'client', `http://${LAB_HOSTS.alt}/small.txt`, ['--socks5-hostname', `${danteNone.host}:${danteNone.port}`]);
  ok(r, 'dante socks5-hostname');
  assert.equal(r.body, SMALL_TXT);
});

test('Dante, no auth, SOCKS4 works; SOCKS4a is not implemented by Dante 1.4.2', T, async () => {
  const r = await curl(lab, 'client', small(), ['--socks4', `${danteNone.host}:${danteNone.port}`]);
  ok(r, 'dante socks4');
  assert.equal(r.body, SMALL_TXT);
  // Dante ignores the 4a host name and connects to 0.0.0.1: request rejected (91) -> curl 97.
  // Use ssh -D as the SOCKS4a upstream.
  const r4a = await curl(lab, 'client', small(), ['--socks4a', `${danteNone.host}:${danteNone.port}`]);
  assert.notEqual(r4a.code, 0);
});

test('Dante, username/password (RFC 1929, system user)', T, async () => {
  const hp = `${danteUser.host}:${danteUser.port}`;
  const good = await curl(lab, 'client', small(), ['--socks5', `${TEST_USER}:${TEST_PASS}@${hp}`]);
  ok(good, 'dante userpass');
  assert.equal(good.body, SMALL_TXT);
  const bad = await curl(lab, 'client', small(), ['--socks5', `${TEST_USER}:wrong@${hp}`]);
  assert.notEqual(bad.code, 0, 'wrong password refused');
  const none = await curl(lab, 'client', small(), ['--socks5', hp]);
  assert.notEqual(none.code, 0, 'no credentials refused');
});

test('Dante refuses a blocked CIDR (not allowed by ruleset), allows the rest', T, async () => {
  const hp = `${danteBlock.host}:${danteBlock.port}`;
  const blocked = await curl(lab, 'client', nginx.url('/small.txt', A.extraTarget), ['--socks5', hp]);
  assert.equal(blocked.code, 97, `blocked: ${blocked.stderr}`);
  assert.match(blocked.stderr, /\(2\)/); // REP=2 connection not allowed by ruleset
  const blocked6 = await curl(lab, 'client', nginx.url('/small.txt', A.extraTarget6), ['--socks5', hp]);
  assert.equal(blocked6.code, 97, `blocked v6: ${blocked6.stderr}`);
  await waitForLog(danteBlock.log, /block\(\d+\): tcp\/connect .*203\.0\.113\.10\.80/);
  const allowed = await curl(lab, 'client', small(), ['--socks5', hp]);
  ok(allowed, 'dante-block allows 198.51.100.2');
  const viaOpen = await curl(lab, 'client', nginx.url('/small.txt', A.extraTarget), ['--socks5', `${danteNone.host}:${danteNone.port}`]);
  ok(viaOpen, '203.0.113.10 reachable through the non-blocking Dante');
  assert.equal(viaOpen.body, SMALL_TXT);
});

test('Dante over IPv6: v6 target, v6 listener, v6 source address', T, async () => {
  const r = await curl(lab, 'client', nginx.url('/small.txt', A.internet6), ['--socks5', `${danteNone.host}:${danteNone.port}`]);
  ok(r, 'v6 target via v4 listener');
  assert.equal(r.body, SMALL_TXT);
  const ip = await curl(lab, 'client', nginx.url('/ip', A.internet6), ['--socks5', `[${danteNone.host6}]:${danteNone.port}`]);
  ok(ip, 'v6 target via v6 listener');
  assert.equal(ip.body.trim(), A.proxyInternetSide6);
  const extra = await curl(lab, 'client', nginx.url('/small.txt', A.extraTarget6), ['--socks5', `${danteNone.host}:${danteNone.port}`]);
  ok(extra, 'v6 extra target');
});

test('microsocks with username/password', T, async () => {
  const hp = `${micro.host}:${micro.port}`;
  const r = await curl(lab, 'client', nginx.url('/ip'), ['--socks5', `${micro.user}:${micro.pass}@${hp}`]);
  ok(r, 'microsocks');
  assert.equal(r.body.trim(), A.proxyInternetSide);
  const bad = await curl(lab, 'client', small(), ['--socks5', `${micro.user}:wrong@${hp}`]);
  assert.notEqual(bad.code, 0, 'wrong password refused');
});

test('ssh -D: SOCKS5, SOCKS5 host name, SOCKS4a', T, async () => {
  const hp = `${ssh.host}:${ssh.port}`;
  const r5 = await curl(lab, 'client', nginx.url('/ip'), ['--socks5', hp]);
  ok(r5, 'ssh -D socks5');
  assert.equal(r5.body.trim(), A.proxyInternetSide);
  const rh = await curl(lab, 'client', `http://${LAB_HOSTS.web4}/small.txt`, ['--socks5-hostname', hp]);
  ok(rh, 'ssh -D socks5-hostname');
  assert.equal(rh.body, SMALL_TXT);
  const r4a = await curl(lab, 'client', `http://${LAB_HOSTS.alt}/small.txt`, ['--socks4a', hp]);
  ok(r4a, 'ssh -D socks4a');
  assert.equal(r4a.body, SMALL_TXT);
});

test('tinyproxy: HTTP CONNECT and plain proxying with BasicAuth; wrong password gets 401', T, async () => {
  const proxy = `http://${tiny.user}:${tiny.pass}@${tiny.host}:${tiny.port}`;
  const tunnel = await curl(lab, 'client', nginx.url('/ip'), ['-x', proxy, '--proxytunnel']);
  ok(tunnel, 'tinyproxy CONNECT');
  assert.equal(tunnel.body.trim(), A.proxyInternetSide);
  const plain = await curl(lab, 'client', small(), ['-x', proxy]);
  ok(plain, 'tinyproxy GET');
  assert.equal(plain.body, SMALL_TXT);
  const bad = await curl(lab, 'client', small(), ['-x', `http://${tiny.user}:wrong@${tiny.host}:${tiny.port}`, '-o', '/dev/null', '-w', '%{http_code}']);
  assert.equal(bad.body, '401');
  await waitForLog(tiny.log, /CONNECT/);
});

test('10 MiB download through a SOCKS5 proxy arrives intact', T, async () => {
  const dst = path.join(lab.dir, 'download.bin');
  const r = await curl(lab, 'client', nginx.url('/10mb.bin'), ['--socks5', `${danteNone.host}:${danteNone.port}`, '-o', dst]);
  ok(r, 'download');
  assert.equal(fs.statSync(dst).size, nginx.bigSize);
  assert.equal(await sha256File(dst), nginx.bigSha256);
  fs.rmSync(dst);
});

test('echo servers: plain echo and echo-after-EOF (half-close)', T, async () => {
  // plain echo with socat: stdin EOF -> shutdown(SHUT_WR); the echo comes back, then EOF
  const plain = await lab.exec('proxy', 'socat', ['-t', '5', '-', `TCP:${A.internet}:${echo.port}`], { input: 'hello echo\n' });
  assert.equal(plain.stdout, 'hello echo\n');
  // echo-after-EOF: nothing comes back before our FIN, everything after it
  const client = `
    const net = require('node:net');
    const s = net.connect({ host: process.argv[1], port: +process.argv[2], allowHalfOpen: true });
    let got = '', early = '';
    s.on('data', (d) => { got += d; });
    s.on('connect', () => {
      s.write('ping-1 ');
      setTimeout(() => { early = got; s.write('ping-2'); s.end(); }, 300);
    });
    s.on('end', () => { console.log(JSON.stringify({ early, got })); });
    s.on('error', (e) => { console.error(e.message); process.exit(1); });
    setTimeout(() => { console.error('timeout'); process.exit(2); }, 5000).unref();
  `;
  const r = await lab.exec('proxy', process.execPath, ['-e', client, A.internet, String(eofEcho.port)]);
  assert.deepEqual(JSON.parse(r.stdout), { early: '', got: 'ping-1 ping-2' });
  // the same through Dante from the client namespace (Dante relays half-close)
  const viaDante = await lab.exec('client', 'socat', ['-t', '5', '-', `SOCKS4:${danteNone.host}:${A.internet}:${eofEcho.port},socksport=${danteNone.port}`], {
    input: 'through dante',
  });
  assert.equal(viaDante.stdout, 'through dante');
});

test('waitForPort fails fast when the process exits, and is bounded', T, async () => {
  const dead = lab.spawn('proxy', 'sh', ['-c', 'echo going away; exit 3'], { name: 'dies' });
  await assert.rejects(lab.waitForPort('proxy', A.proxyClientSide, 4999, 5000, dead), /exited .*going away/s);
  const t0 = Date.now();
  await assert.rejects(lab.waitForPort('proxy', A.proxyClientSide, 4998, 300), /timeout after 300 ms/);
  assert.ok(Date.now() - t0 < 3000);
  const failing = await lab.exec('client', 'false', [], { allowFail: true });
  assert.equal(failing.code, 1);
  await assert.rejects(lab.exec('client', 'sh', ['-c', 'echo out; echo err >&2; exit 4']), /exit 4[\s\S]*out[\s\S]*err/);
});

test('a test process that crashes does not leave its namespaces behind', T, async () => {
  const script = `
    import { createLab } from ${JSON.stringify(path.join(HERE, 'lab.ts'))};
    const lab = await createLab();
    lab.spawn('proxy', 'sleep', ['60']);
    console.log(JSON.stringify(Object.values(lab.ns)));
    throw new Error('simulated crash');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
  assert.notEqual(r.status, 0);
  const names: string[] = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(names.length, 3);
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const n of names) assert.ok(!list.includes(n), `${n} removed by the exit hook`);
});

test('labs of a SIGKILLed process are swept by the next createLab/sweepStaleLabs', T, async () => {
  const script = `
    import { createLab } from ${JSON.stringify(path.join(HERE, 'lab.ts'))};
    const lab = await createLab();
    console.log(JSON.stringify({ id: lab.id, ns: Object.values(lab.ns) }));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<{ id: string; ns: string[] }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('child did not create a lab')), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(out.split('\n')[0]!));
      }
    });
    child.on('error', reject);
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  // SIGKILL runs no hook: the lab is still there (unless a concurrently running test file's
  // createLab() swept it first, which is the point of the sweeper too).
  sweepStaleLabs();
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const n of info.ns) assert.ok(!list.includes(n), `${n} swept`);
  assert.ok(!fs.existsSync(`/etc/netns/${info.ns[0]}`));
});

// Last: destroy() removes everything (after() calls it again, which must be a no-op).
test('destroy removes namespaces, /etc/netns entries, processes and the temp dir', T, async () => {
  const names = Object.values(lab.ns);
  const pids = names.flatMap((n) => spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean));
  assert.ok(pids.length > 0, 'servers were running in the lab');
  await lab.destroy();
  await lab.destroy(); // idempotent
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const n of names) {
    assert.ok(!list.includes(n), `${n} deleted`);
    assert.ok(!fs.existsSync(`/etc/netns/${n}`), `/etc/netns/${n} removed`);
  }
  assert.ok(!fs.existsSync(lab.dir), 'lab dir removed');
  for (const p of pids) assert.ok(!fs.existsSync(`/proc/${p}`) || isZombie(p), `pid ${p} gone`);
});

function isZombie(pid: string): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}
