import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startEcho, startNginx, startSshSocks, startV2ray, type Lab, type NginxHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, REDIRECT_PORT, startSocksgate, type Daemon } from './socksgate.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
let lab: Lab;
let nginx: NginxHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startEcho(lab, { port: 7 });
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

/** curl that must fail with a reset (not a clean close or a timeout), and how long it took. */
async function expectReset(url: string) {
  const startedAt = Date.now();
  const result = await curl(lab, 'client', url);
  const ms = Date.now() - startedAt;
  // curl says 56 "reset by peer" when the RST lands after its connect() completed and its request
  // went out, 55 "send failure: reset by peer" when it lands while the request is being sent, and 7
  // "couldn't connect" when it lands first (the listener accepts at once, so only our RST can cause
  // that). Never 52 (a clean empty close) or 28 (a hang).
  assert.ok([7, 55, 56].includes(result.code), `the client sees a reset, got ${result.code}: ${result.stderr}`);
  return ms;
}

async function expectServes(daemon: Daemon) {
  const ok = await curl(lab, 'client', nginx.url('/small.txt'));
  assert.equal(ok.code, 0, `daemon still serves: ${ok.stderr}\n${daemon.proc.output()}`);
}

/** The flow's failure is logged once it is over, which can be just after the client saw the reset. */
async function warnings(daemon: Daemon, reason: string) {
  await daemon.waitFor(new RegExp(`"level":40,.*"reason":"${reason}"`));
  return daemon.lines().filter((l) => l.level === 40 && l.reason === reason);
}

test('upstream down: the client is reset within 1 s, and flows work once it is back', async () => {
  const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${lab.addr.proxyClientSide}:1500`, '--mark', String(DAEMON_MARK)], { name: 'sg-down' });
  try {
    const ms = await expectReset(nginx.url('/small.txt'));
    assert.ok(ms < 1_000, `reset after ${ms} ms`);
    const [line] = await warnings(daemon, 'SG_ERR_UPSTREAM_UNREACHABLE');
    assert.ok(line, daemon.proc.output());
    for (const field of ['flowId', 'src', 'dst', 'outbound']) assert.ok(line[field] !== undefined, `log has ${field}`);
    assert.match(line.msg, /ECONNREFUSED/);
    await startDante(lab, { port: 1500 });
    await expectServes(daemon);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test('upstream refuses the destination (Dante rule): reset, reply code logged, next flow served', async () => {
  await startDante(lab, { port: 1501, block: ['203.0.113.0/24'] });
  const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${lab.addr.proxyClientSide}:1501`, '--mark', String(DAEMON_MARK)], { name: 'sg-refused' });
  try {
    await expectReset(`http://${lab.addr.extraTarget}/small.txt`);
    const [line] = await warnings(daemon, 'SG_ERR_UPSTREAM_REFUSED');
    assert.ok(line, daemon.proc.output());
    assert.match(line.msg, /not allowed by ruleset \(REP=2\)/);
    assert.equal(line.dst, `${lab.addr.extraTarget}:80`);
    await expectServes(daemon);
  } finally {
    await daemon.stop();
  }
});

for (const mode of ['garbage', 'success-then-eof'] as const) {
  test(`an upstream that answers ${mode}: reset, reason logged once, daemon carries on`, async () => {
    const port = mode === 'garbage' ? 1502 : 1503;
    const fake = lab.spawn('proxy', process.execPath, [path.join(FIXTURES, 'bad-upstream.mjs'), '--host', lab.addr.proxyClientSide, '--port', String(port), '--mode', mode], { name: `bad-${mode}` });
    await lab.waitForPort('proxy', lab.addr.proxyClientSide, port, 5_000, fake);
    const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${lab.addr.proxyClientSide}:${port}?pipelining=off`, '--mark', String(DAEMON_MARK)], { name: `sg-${mode}` });
    try {
      await expectReset(nginx.url('/small.txt'));
      const reason = mode === 'garbage' ? 'SG_ERR_MALFORMED_REPLY' : 'SG_ERR_UPSTREAM_CLOSED';
      assert.equal((await warnings(daemon, reason)).length, 1, daemon.proc.output());
      await lab.kill(fake);
      await startDante(lab, { port });
      await expectServes(daemon);
    } finally {
      await daemon.stop();
    }
  });
}

for (const server of ['v2ray', 'ssh -D'] as const) {
  test(`${server} hides a failed CONNECT (success then EOF, or EOF alone): the client is reset`, async () => {
    const proxy = server === 'v2ray' ? await startV2ray(lab, { port: 1506 }) : await startSshSocks(lab, { port: 1507 });
    const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${proxy.host}:${proxy.port}`, '--mark', String(DAEMON_MARK)], { name: `sg-hidden-${proxy.port}` });
    try {
      await expectReset(`http://${lab.addr.internet}:81/`);
      assert.equal((await warnings(daemon, 'SG_ERR_UPSTREAM_CLOSED')).length, 1, daemon.proc.output());
      await expectServes(daemon);
    } finally {
      await daemon.stop();
    }
  });
}

test('a direct connection to the listener is refused by the loop guard', async () => {
  await startDante(lab, { port: 1504 });
  const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${lab.addr.proxyClientSide}:1504`, '--mark', String(DAEMON_MARK)], { name: 'sg-loop' });
  try {
    await expectReset(`http://127.0.0.1:${REDIRECT_PORT}/`);
    await daemon.waitFor(/refused/);
    assert.equal(daemon.lines().filter((l) => l.msg === 'flow finished').length, 0, 'nothing was proxied');
    await expectServes(daemon);
  } finally {
    await daemon.stop();
  }
});

test('SIGTERM stops accepting, lets a live flow finish, then exits 0', async () => {
  await startDante(lab, { port: 1505 });
  const daemon = await startSocksgate(lab, 'client', ['--upstream', `socks5://${lab.addr.proxyClientSide}:1505`, '--mark', String(DAEMON_MARK)], { name: 'sg-drain' });
  const client = lab.spawn('client', 'socat', ['-T', '10', 'STDIO', `TCP:${lab.addr.internet}:7`], { name: 'socat-drain', stdin: 'pipe' });
  client.stdin?.write('before\n');
  await waitUntil(() => client.output().includes('before'));
  daemon.proc.kill('SIGTERM');
  await daemon.waitFor(/stopping/);
  const refused = await curl(lab, 'client', nginx.url('/small.txt'));
  assert.notEqual(refused.code, 0, 'no new connections while draining');
  client.stdin?.write('during\n');
  await waitUntil(() => client.output().includes('during'));
  assert.equal(daemon.proc.exitCode, null, 'still draining while the flow lives');
  client.stdin?.end();
  await daemon.proc.exited();
  assert.equal(daemon.proc.exitCode, 0);
});

async function waitUntil(check: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
