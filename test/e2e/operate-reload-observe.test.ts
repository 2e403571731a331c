import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startDnsmasq, startEcho, startNginx, waitForLog, type Lab, type LabProcess, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');
const ECHO_PORT = 7;
const METRICS = '127.0.0.1:9464';
const DNS = '127.0.0.53';

let lab: Lab;
let nginx: NginxHandle;
let danteA: SocksHandle;
let danteB: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startEcho(lab, { port: ECHO_PORT });
  await startDnsmasq(lab);
  danteA = await startDante(lab, { port: 1080 });
  danteB = await startDante(lab, { port: 1081 });
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

function writeConfig(file: string, text: string): void {
  writeFileSync(file, text);
}

/** The DNS server too, so its queries show in the metrics; dnsmasq's TTL 0 needs a minimum to be cached. */
function upstreamConfig(dante: SocksHandle): string {
  return [
    'upstreams:',
    `  - url: socks5://${dante.host}:${dante.port}`,
    `    name: dante-${dante.port}`,
    'dns:',
    `  listen: ${DNS}:53`,
    `  upstreams: [tcp://${lab.addr.internet}:53]`,
    '  cache: { min_ttl_s: 60 }',
    '',
  ].join('\n');
}

/** Dante logs `tcp/connect [:` when it opens a CONNECT (and `]:` when it ends), naming the destination. */
function danteCarried(dante: SocksHandle, dst: string): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes('tcp/connect [') && l.includes(` ${dst}`)).length;
}

/** A long-lived TCP flow: socat in the client, talking line by line to the echo server. */
function openEchoFlow(): LabProcess {
  return lab.spawn('client', 'socat', ['-', `TCP:${lab.addr.internet}:${ECHO_PORT}`], { name: 'socat-long', stdin: 'pipe' });
}

async function echoes(flow: LabProcess, text: string): Promise<void> {
  flow.stdin!.write(`${text}\n`);
  await waitForLog(flow.logPath, text, 5_000);
}

async function status(control: string): Promise<string> {
  const r = await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 });
  return r.stdout;
}

async function reload(daemon: Daemon, pattern: RegExp): Promise<void> {
  const before = daemon.lines().filter((l) => pattern.test(JSON.stringify(l))).length;
  daemon.proc.kill('SIGHUP');
  const deadline = Date.now() + 5_000;
  while (daemon.lines().filter((l) => pattern.test(JSON.stringify(l))).length === before) {
    assert.ok(Date.now() < deadline, `no ${pattern} after SIGHUP:\n${daemon.proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function scrapeUntil(done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const scrape = await curl(lab, 'client', `http://${METRICS}/metrics`);
    assert.equal(scrape.code, 0, scrape.stderr);
    if (done(scrape.body) || Date.now() > deadline) return scrape.body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const matching = lines.filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return matching.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('SIGHUP swaps the upstream under load; status lists the live flow; metrics count it; a bad config is refused', async () => {
  const config = path.join(lab.dir, 'reload.yaml');
  const control = path.join(lab.dir, 'control.sock');
  writeConfig(config, upstreamConfig(danteA));
  const daemon = await startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--metrics', METRICS, '--control', control], { name: 'sg-reload' });
  const longFlow = openEchoFlow();
  try {
    const mode = statSync(control).mode & 0o777;
    assert.equal(mode, 0o600, `control socket is owner-only, got ${mode.toString(8)}`);

    await echoes(longFlow, 'hello-before-reload');
    const first = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(first.code, 0, first.stderr);
    const echoDst = `${lab.addr.internet}.${ECHO_PORT}`;
    assert.equal(danteCarried(danteA, echoDst), 1, 'the long flow goes through Dante A');

    const shown = await status(control);
    assert.match(shown, new RegExp(`redirect\\s+${lab.addr.client}:\\d+\\s+${lab.addr.internet}:${ECHO_PORT}\\s+dante-1080`), `status lists the live flow:\n${shown}`);
    assert.match(shown, /dante-1080\s+192\.0\.2\.1:1080\s+(pipelined|learning)/, shown);

    writeConfig(config, upstreamConfig(danteB));
    await reload(daemon, /"msg":"config reloaded/);
    const reloaded = daemon.lines().find((l) => l.msg.startsWith('config reloaded'));
    assert.deepEqual(reloaded?.changed, ['upstreams']);

    const webDst = `${lab.addr.internet}.80`;
    const carriedByA = danteCarried(danteA, webDst);
    for (let i = 0; i < 3; i++) {
      const r = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(r.code, 0, `${r.stderr}\n${daemon.proc.output()}`);
    }
    assert.equal(danteCarried(danteB, webDst), 3, 'new flows go through Dante B');
    assert.equal(danteCarried(danteA, webDst), carriedByA, 'and none through A any more');
    await echoes(longFlow, 'hello-after-reload');
    assert.match(await status(control), /dante-1081/, 'status shows the new upstream');

    writeConfig(config, `${upstreamConfig(danteA)}bogus_key: 1\ntimeouts:\n  connect_ms: -5\n`);
    await reload(daemon, /"msg":"reload rejected/);
    const rejected = daemon.lines().find((l) => l.msg.startsWith('reload rejected'));
    assert.match(rejected?.msg ?? '', /bogus_key: unknown key/);
    assert.match(rejected?.msg ?? '', /timeouts\.connect_ms/);
    const still = await curl(lab, 'client', nginx.url('/small.txt'));
    assert.equal(still.code, 0, still.stderr);
    assert.equal(danteCarried(danteB, webDst), 4, 'the old config (Dante B) keeps serving');
    await echoes(longFlow, 'hello-after-rejected-reload');

    writeConfig(config, `${upstreamConfig(danteB)}redirect: ['127.0.0.1:12345', '127.0.0.1:12399']\n`);
    await reload(daemon, /"msg":"config reloaded/);
    const moved = daemon.lines().filter((l) => l.msg.startsWith('config reloaded')).pop();
    assert.deepEqual([moved?.changed, moved?.listenersAdded, moved?.listenersRemoved], [['redirect'], ['redirect 127.0.0.1:12399'], []], 'only the new listener opens');
    await echoes(longFlow, 'hello-after-listener-reload');

    for (let i = 0; i < 2; i++) {
      const dig = await lab.exec('client', 'dig', [`@${DNS}`, '+short', '+time=5', '+tries=1', 'web.lab.test'], { timeoutMs: 15_000 });
      assert.equal(dig.stdout.trim(), lab.addr.internet, dig.stdout + dig.stderr);
    }

    // A flow is counted once both its sides have closed, which can be just after curl has exited.
    const text = await scrapeUntil((t) => metricValue(t, 'socksgate_flows_total', { outbound: 'dante-1081', outcome: 'closed' }) === 4);
    assert.equal(metricValue(text, 'socksgate_flows_active', { outbound: 'dante-1080' }), 1, 'the long flow is active');
    assert.equal(metricValue(text, 'socksgate_flows_total', { outbound: 'dante-1081', outcome: 'closed' }), 4);
    assert.ok(metricValue(text, 'socksgate_flow_bytes_total', { direction: 'down' }) > 0, 'bytes down counted');
    assert.ok(metricValue(text, 'socksgate_flow_bytes_total', { direction: 'up' }) > 0, 'bytes up counted');
    assert.ok(metricValue(text, 'socksgate_upstream_handshake_seconds_count', { upstream: 'dante-1081' }) >= 4, 'handshakes timed');
    assert.equal(metricValue(text, 'socksgate_dns_queries_total', { source: 'cache' }), 1, 'the second dig came from the cache');
    assert.equal(metricValue(text, 'socksgate_dns_upstream_seconds_count', { outcome: 'answer' }), 1, 'the first went to dnsmasq, through Dante B');
  } finally {
    longFlow.stdin?.end();
    await lab.kill(longFlow);
    await daemon.stop();
  }
});
