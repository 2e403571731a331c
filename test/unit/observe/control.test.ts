import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { formatStatus, readSnapshot } from '../../../src/cli/status.js';
import type { StatusSnapshot } from '../../../src/observe/control.js';
import { serveControl } from '../../../src/daemon/control-socket.js';

const log = pino({ level: 'silent' });
const NOW = 1_700_000_000_000;

const snapshot: StatusSnapshot = {
  pid: 42,
  now: NOW,
  startedAt: NOW - 3_725_000,
  flows: [
    { id: 7, inbound: 'tproxy', src: '192.0.2.2:40000', dst: '198.18.0.5:443', target: 'example.test:443', outbound: 'dante', rule: 'domain_suffix=[example.test] → dante', startedAt: NOW - 65_000 },
    // From a daemon older than routing: no rule.
    { id: 8, inbound: 'redirect', src: '192.0.2.2:40001', dst: '198.51.100.9:80', outbound: 'dante', startedAt: NOW - 1_000 },
  ],
  upstreams: [
    { name: 'dante', server: '192.0.2.1:1080', pipelining: 'pipelined', dials: 3, failures: 0 },
    { name: 'http', server: '192.0.2.1:8888', pipelining: 'n/a', dials: 1, failures: 1, lastError: { reason: 'SG_ERR_UPSTREAM_REFUSED', message: 'upstream refused: 403', at: NOW - 5_000 } },
  ],
};

test('the control socket is owner-only and answers one JSON snapshot; status reads it', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-control-')), 'run', 'control.sock');
  const control = await serveControl(file, () => snapshot, log);
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(await readSnapshot(file), snapshot);
    await assert.rejects(serveControl(file, () => snapshot, log), /in use by another running socksgate/);
  } finally {
    control.close();
  }
});

test('a socket file left by a dead daemon is replaced', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-control-')), 'control.sock');
  // A daemon killed while listening: the socket file stays, nobody accepts on it.
  spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(file)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok(statSync(file).isSocket(), 'the stale socket file is there');
  const control = await serveControl(file, () => snapshot, log);
  try {
    assert.equal((await readSnapshot(file)).pid, 42);
  } finally {
    control.close();
  }
});

test('a client that sends bytes before closing does not leave its connection open (found by the live fuzz)', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-control-')), 'control.sock');
  const control = await serveControl(file, () => snapshot, log);
  const openFds = () => readdirSync('/proc/self/fd').length;
  try {
    const before = openFds();
    for (let i = 0; i < 5; i++) {
      const client = connect(file);
      client.on('data', () => {});
      client.end('bytes the control socket does not expect');
      await once(client, 'close');
    }
    const deadline = Date.now() + 2_000;
    while (openFds() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(openFds() <= before, `the server side of each connection is closed: ${openFds()} descriptors open, ${before} before`);
  } finally {
    control.close();
  }
});

test('status prints upstream health and live flows as tables', () => {
  const text = formatStatus(snapshot);
  assert.match(text, /^socksgate pid 42, up 1h02m/);
  assert.match(text, /dante\s+192\.0\.2\.1:1080\s+pipelined\s+3\s+0\s+-/);
  assert.match(text, /http\s+192\.0\.2\.1:8888\s+n\/a\s+1\s+1\s+5s ago SG_ERR_UPSTREAM_REFUSED: upstream refused: 403/);
  assert.match(text, /2 live TCP flows/);
  assert.match(text, /7\s+tproxy\s+192\.0\.2\.2:40000\s+198\.18\.0\.5:443 \(example\.test:443\)\s+dante\s+1m05s\s+-\s+domain_suffix=\[example\.test\] → dante$/m);
  assert.match(text, /8\s+redirect\s+192\.0\.2\.2:40001\s+198\.51\.100\.9:80\s+dante\s+1s\s+-\s+-$/m);
});

test('the control socket listens through the addon: no Node server handle (node:net loads with the first client) and no node:cluster', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-control-')), 'control.sock');
  const control = new URL('../../../src/daemon/control-socket.ts', import.meta.url).href;
  const script = `
    const { serveControl } = await import(${JSON.stringify(control)});
    const nodeHandles = () => process.getActiveResourcesInfo().filter((r) => /Pipe|TCP/.test(r));
    const before = nodeHandles().length;
    const c = await serveControl(${JSON.stringify(file)}, () => ({}), { info() {}, error() {} });
    const loaded = process.moduleLoadList.filter((m) => /^NativeModule cluster$/.test(m));
    const handles = nodeHandles().slice(before);
    c.close();
    console.log(JSON.stringify({ loaded, handles }));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  // The built daemon's modules at idle: test/e2e/idle-modules.test.ts (the sources import node:net anyway).
  assert.deepEqual(JSON.parse(run.stdout), { loaded: [], handles: [] });
});

test('closing the control socket removes its file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-control-')), 'control.sock');
  const control = await serveControl(file, () => snapshot, log);
  control.close();
  control.close();
  assert.throws(() => statSync(file), { code: 'ENOENT' });
});
