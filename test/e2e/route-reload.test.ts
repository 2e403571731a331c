// Route lists and SIGHUP end to end: a changed cidr_file is picked up while a long download runs
// (it completes intact on its old route, new flows take the new one); a malformed list at reload
// keeps the last good rules, and at start exits 2 naming file:line.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, sha256File, startDante, startNginx, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { routeClientDirectly, runToExit, seenBy } from './route-lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

let lab: Lab;
let nginx: NginxHandle;
let dante: SocksHandle;
let list: string;
let config: string;

before(async () => {
  lab = await createLab();
  await routeClientDirectly(lab);
  nginx = await startNginx(lab);
  dante = await startDante(lab, { port: 1080 });
  await applyRedirectRules(lab, 'client');
  list = path.join(lab.dir, 'direct-nets.txt');
  config = path.join(lab.dir, 'route-reload.yaml');
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
      'route:',
      '  final: dante',
      '  rules:',
      `    - { cidr_file: ${list}, action: direct }`,
      '',
    ].join('\n'),
  );
});
after(() => lab?.destroy());

const start = (name: string) => startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--control', 'off'], { name });

/** Waits (bounded) until a download has written at least `bytes`. */
async function grownTo(file: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  while (size() < bytes) {
    if (Date.now() > deadline) throw new Error(`${file} has ${size()} bytes after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGHUP, then the daemon's answer: the next reload line after those already logged. */
async function reload(daemon: Daemon): Promise<string> {
  const reloads = () => daemon.lines().filter((l) => /^(reload[: ]|config reloaded)/.test(l.msg));
  const before = reloads().length;
  daemon.proc.kill('SIGHUP');
  const deadline = Date.now() + 15_000;
  while (reloads().length === before) {
    if (Date.now() > deadline) throw new Error(`no answer to SIGHUP:\n${daemon.proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return reloads().at(-1)!.msg;
}

test('SIGHUP with a changed list during a long download: it completes intact through Dante, new flows go direct', async () => {
  writeFileSync(list, `# direct networks\n${lab.addr.targetNet}\n`);
  const daemon = await start('sg-route-reload');
  try {
    assert.equal(await seenBy(lab, lab.addr.extraTarget), lab.addr.client, 'listed: direct');
    assert.equal(await seenBy(lab, lab.addr.internet), lab.addr.proxyInternetSide, 'not listed: through Dante');

    // 10 MiB that nginx sends at 512 KiB/s: twenty seconds, with the reload early on (curl's own
    // --limit-rate once let the whole file through in under a second on a busy machine).
    const file = path.join(lab.dir, 'long.bin');
    let finished = false;
    const download = curl(lab, 'client', nginx.url('/slow/10mb.bin'), ['--max-time', '60', '-o', file], { timeoutMs: 75_000 }).finally(() => (finished = true));
    await grownTo(file, 512 * 1024);

    writeFileSync(list, `# direct networks\n${lab.addr.targetNet}\n${lab.addr.internet}/32 # now direct too\n`);
    assert.equal(await reload(daemon), 'reload: config unchanged', daemon.proc.output());
    if (finished) {
      const early = await download;
      assert.fail(`the download ended before the rules changed: curl exit ${early.code}: ${early.stderr}\n${daemon.proc.output()}`);
    }
    assert.equal(await seenBy(lab, lab.addr.internet), lab.addr.client, 'a new flow follows the new list: direct');

    const result = await download;
    assert.equal(result.code, 0, `${result.stderr}\n${daemon.proc.output()}`);
    assert.equal(await sha256File(file), nginx.bigSha256, 'the download is intact');
    // Its line: the one flow to that address that carried megabytes down.
    const line = await daemon.waitFor(new RegExp(`"dst":"${lab.addr.internet.replace(/\./g, '\\.')}:80".*"down":\\d{7,}`), 10_000);
    assert.equal(line.outbound, 'dante', 'it kept the decision it started with');
    assert.equal(line.rule, 'final → dante');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test('a malformed list at reload keeps the last good rules; at start the daemon exits 2 naming file:line', async () => {
  writeFileSync(list, `${lab.addr.internet}/32\n`);
  const daemon = await start('sg-route-bad-list');
  try {
    assert.equal(await seenBy(lab, lab.addr.internet), lab.addr.client);

    writeFileSync(list, `${lab.addr.targetNet}\n# the next line is wrong\n198.51.100.300/32\n`);
    const refused = await reload(daemon);
    assert.match(refused, /^reload (rejected|failed), the old config stays/, daemon.proc.output());
    assert.ok(refused.includes(`${list}:3`), `the log names the file and line: ${refused}`);
    assert.equal(daemon.proc.exitCode, null, 'the daemon stays up');
    assert.equal(await seenBy(lab, lab.addr.internet), lab.addr.client, 'the last good list still rules: direct');
    assert.equal(await seenBy(lab, lab.addr.extraTarget), lab.addr.proxyInternetSide, 'the bad list was not half applied');
  } finally {
    assert.equal(await daemon.stop(), 0);
  }

  const { code, stderr } = await runToExit(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--control', 'off']);
  assert.equal(code, 2, stderr);
  assert.ok(stderr.includes(`${list}:3: `), `stderr names the file and line:\n${stderr}`);
});
