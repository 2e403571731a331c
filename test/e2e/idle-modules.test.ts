// The built daemon at idle, as a service runs it: which of Node's heavier modules it has loaded. No
// namespace: a redirect listener on loopback with `--rules off` changes nothing outside the process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN, shebangFlags } from './socksgate.js';
import { startFakeSocks5 } from '../helpers/fake-socks5.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

/** Polls `read` until it returns something, within a bounded time. */
async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('an idle daemon has not loaded node:net; the first socksgate status loads it and is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-idle-'));
  const control = join(dir, 'control.sock');
  const listFile = join(dir, 'modules.json');
  // Preloaded into the daemon: writes the modules it has loaded, every 100 ms, for this test to read.
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, `setInterval(() => require('fs').writeFileSync(${JSON.stringify(listFile)}, JSON.stringify(process.moduleLoadList)), 100).unref();\n`);
  // A live upstream (in this process) with the default pipelining ('auto'): the daemon's first act is
  // a probe of it, dialed in the addon as a flow's would be, so the probe loads no node:net either.
  const upstream = await startFakeSocks5();
  const args = ['run', '--upstream', `socks5://127.0.0.1:${upstream.port}`, '--redirect', `127.0.0.1:${await freePort()}`, '--rules', 'off', '--control', control];
  const daemon = spawn(process.execPath, [...shebangFlags(MAIN), '--require', probe, MAIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let log = '';
  daemon.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const loaded = () => {
    try {
      return JSON.parse(readFileSync(listFile, 'utf8')) as string[];
    } catch {
      return undefined; // not written yet, or being written
    }
  };
  try {
    await until(() => (log.includes('socksgate running') ? true : undefined), 'socksgate running');
    await until(() => (log.includes('upstream takes a pipelined handshake') ? true : undefined), 'the pipelining probe\'s verdict');
    assert.equal(upstream.reads.length, 1, 'the probe reached the upstream');
    await sleep(300); // a list written after start-up
    const atIdle = await until(loaded, 'the module list');
    assert.ok(atIdle.includes('NativeModule fs'), 'the probe reports the loaded modules');
    assert.deepEqual(atIdle.filter((m) => /^NativeModule (net|stream|cluster|perf_hooks)$/.test(m)), [], 'nothing at idle loaded node:net, stream, cluster or perf_hooks');

    const status = spawnSync(process.execPath, [MAIN, 'status', '--control', control], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /^socksgate pid \d+/);
    await until(() => (loaded()?.includes('NativeModule net') ? true : undefined), 'node:net after the first status');
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      await once(daemon, 'exit');
    }
    await upstream.close();
  }
});
