// Groups that spread flows: round-robin over three Dante servers (each one's log counts its share),
// and groups as members of groups, with microsocks and tinyproxy (HTTP CONNECT) among the members.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startMicrosocks, startNginx, startTinyproxy, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate } from './socksgate.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

let lab: Lab;
let nginx: NginxHandle;
let dantes: SocksHandle[];

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  dantes = [await startDante(lab, { port: 1080 }), await startDante(lab, { port: 1081 }), await startDante(lab, { port: 1082 })];
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

function connects(dante: SocksHandle): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes('tcp/connect [')).length;
}

async function run(name: string, yaml: readonly string[], body: (control: string) => Promise<void>): Promise<void> {
  const file = path.join(lab.dir, `${name}.yaml`);
  writeFileSync(file, [...yaml, ''].join('\n'));
  const control = path.join(lab.dir, `${name}.sock`);
  const daemon = await startSocksgate(lab, 'client', ['--config', file, '--mark', String(DAEMON_MARK), '--control', control], { name });
  try {
    await body(control);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${daemon.proc.output()}`, { cause: err });
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
}

async function curls(count: number, host?: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await curl(lab, 'client', nginx.url('/small.txt', host), ['--max-time', '10']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.body, nginx.smallText);
  }
}

test('round-robin spreads flows evenly over three Dante servers', async () => {
  const before = dantes.map(connects);
  await run('sg-rr', ['upstreams:', ...dantes.map((d) => `  - { name: d${d.port}, url: "socks5://${d.host}:${d.port}" }`), 'groups:', '  - { name: spread, policy: round-robin, members: [d1080, d1081, d1082] }', 'route: { final: spread }'], async () => {
    await curls(9);
  });
  assert.deepEqual(
    dantes.map((d, i) => connects(d) - before[i]),
    [3, 3, 3],
  );
});

test('a group is a member of a group: round-robin over a failover group (microsocks, dead first) and tinyproxy; least-latency picks a live one', async () => {
  const micro = await startMicrosocks(lab, { port: 1090 });
  const tiny = await startTinyproxy(lab, { port: 8888 });
  const tinyConnects = () => readFileSync(tiny.log, 'utf8').split('\n').filter((l) => /CONNECT/i.test(l) && l.includes('Established')).length;
  const yaml = [
    'upstreams:',
    `  - { name: dead, url: "socks5://${dantes[0].host}:1099" }`,
    `  - { name: micro, url: "socks5://${micro.host}:${micro.port}" }`,
    `  - { name: tiny, url: "http://${tiny.host}:${tiny.port}" }`,
    'groups:',
    '  - { name: inner, policy: failover, members: [dead, micro] }',
    '  - { name: outer, policy: round-robin, members: [inner, tiny] }',
    '  - { name: fastest, policy: least-latency, members: [dead, tiny, micro] }',
    'route:',
    '  final: outer',
    `  rules: [{ cidr: [${lab.addr.extraTarget}/32], upstream: fastest }]`,
  ];
  await run('sg-nested', yaml, async (control) => {
    const before = tinyConnects();
    await curls(4);
    assert.equal(tinyConnects() - before, 2, readFileSync(tiny.log, 'utf8'));
    const shown = (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
    // Member, state, since, UDP, handshake, active flows, failures, failovers, why (up: none yet, fail_after is 3).
    assert.match(shown, /inner\s+failover\s+dead\s+up\s.*\s0\s+2\s+2\s+-/, shown);
    assert.match(shown, /inner\s+failover\s+micro\s+up\s.*ms\s+0\s+0\s+0\s+-/, shown);
    assert.match(shown, /outer\s+round-robin\s+inner\s+up/, shown);
    assert.match(shown, /outer\s+round-robin\s+tiny\s+up/, shown);

    // least-latency: a member never measured goes first (the dead one fails over, once per flow until
    // it is down), then the lowest handshake-time average.
    await curls(5, lab.addr.extraTarget);
    const latency = (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
    assert.match(latency, /fastest\s+least-latency\s+dead\s+down\s.*\s0\s+3\s+3\s+SG_ERR_UPSTREAM_UNREACHABLE/, latency);
    assert.match(latency, /fastest\s+least-latency\s+tiny\s+up\s.*\d ms/, latency);
    assert.match(latency, /fastest\s+least-latency\s+micro\s+up\s.*\d ms/, latency);
  });
  await micro.stop();
  await tiny.stop();
});
