import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { errorMessage } from '../../core/errors.js';
import { DEMO_ADDR, DemoLab } from './netns-lab.js';
import { DANTE_PORT, findDante, WEB_SERVER, writeDanteConfig } from './servers.js';

const UPSTREAM = `socks5://${DEMO_ADDR.proxyInside}:${DANTE_PORT}`;
const PAGE = `http://${DEMO_ADDR.internet}/`;

const out = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

function logLines(file: string): LogLine[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

async function waitForLine(file: string, msg: string, timeoutMs: number): Promise<LogLine | undefined> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
    const line = logLines(file).find((l) => l.msg === msg);
    if (line) return line;
  }
  return undefined;
}

/** What is missing for the demo, as the exact thing to do about it. */
function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'socksgate demo needs root: it creates network namespaces (try: sudo socksgate demo)';
  if (spawnSync('ip', ['-V']).status !== 0) return 'the ip tool is missing: install the Debian package iproute2';
  if (spawnSync('curl', ['--version']).status !== 0) return 'curl is missing: install the Debian package curl';
  if (spawnSync('nft', ['--version']).status !== 0 && spawnSync('iptables', ['-V']).status !== 0) return 'neither nft nor iptables is installed: install the Debian package nftables';
  if (!findDante()) return 'the demo needs a real SOCKS server and Dante is not installed: install the Debian package dante-server (apt-get install dante-server), then run socksgate demo again';
  return undefined;
}

async function runDemo(lab: DemoLab): Promise<boolean> {
  const A = DEMO_ADDR;
  const log = (name: string) => path.join(lab.dir, `${name}.log`);
  out('socksgate demo: a throwaway lab of three network namespaces; this host\'s own network is not touched.');
  out(`  client    ${lab.ns.client.padEnd(18)} ${A.client.padEnd(14)} runs socksgate --rules auto, and plain curl`);
  out(`  proxy     ${lab.ns.proxy.padEnd(18)} ${A.proxyInside.padEnd(14)} Dante SOCKS5 server on port ${DANTE_PORT}: the client's only way out`);
  out(`  internet  ${lab.ns.internet.padEnd(18)} ${A.internet.padEnd(14)} a web server on port 80`);
  out();

  lab.spawn('internet', process.execPath, ['-e', WEB_SERVER], log('web'));
  lab.spawn('proxy', findDante()!, ['-f', writeDanteConfig(lab.dir), '-N', '1', '-p', path.join(lab.dir, 'danted.pid')], log('danted-stdout'));
  if (!lab.waitForPort('proxy', A.internet, 80) || !lab.waitForPort('client', A.proxyInside, DANTE_PORT)) {
    out('the web server or Dante did not start:');
    out(fs.readFileSync(log('danted-stdout'), 'utf8') + fs.readFileSync(log('web'), 'utf8'));
    return false;
  }
  const sgArgs = ['run', '--upstream', UPSTREAM, '--redirect', '127.0.0.1:12345', '--mark', '2', '--rules', 'auto', '--log-level', 'debug'];
  out(`1. socksgate ${sgArgs.join(' ')}   (in ${lab.ns.client})`);
  const sg = lab.spawn('client', process.execPath, [...process.execArgv, process.argv[1]!, ...sgArgs], log('socksgate'));
  const applied = await waitForLine(log('socksgate'), 'rules applied', 10_000);
  if (!applied || !(await waitForLine(log('socksgate'), 'socksgate running', 5_000))) {
    out(`   socksgate did not start:\n${fs.readFileSync(log('socksgate'), 'utf8')}`);
    return false;
  }
  out(`   rules applied: ${String(applied.rules)}`);

  out(`2. curl ${PAGE}   (in ${lab.ns.client}; no proxy settings, no LD_PRELOAD)`);
  const curl = lab.run('client', 'curl', ['-sS', '--max-time', '10', PAGE]);
  out(curl.code === 0 ? `   the page: ${curl.stdout.trim()}` : `   curl failed (exit ${curl.code}): ${curl.stderr.trim()}`);

  await lab.stop(sg);
  const flows = logLines(log('socksgate')).filter((l) => l.msg === 'flow finished' || l.msg.startsWith('flow reset'));
  out('3. what socksgate did:');
  for (const f of flows) {
    out(`   flow ${String(f.flowId)}: ${String(f.src)} → ${String(f.dst)}, diverted by ${String(f.inbound)}, carried by upstream ${String(f.outbound)}: ${String(f.up)} bytes up, ${String(f.down)} bytes down (${String(f.outcome)})`);
  }
  if (!flows.length) out('   no flow: the connection was not diverted');
  const flushed = logLines(log('socksgate')).some((l) => l.msg === 'rules flushed');
  out(`   at exit (SIGTERM) socksgate ${flushed ? 'removed its rules' : 'did NOT report removing its rules'}`);
  const seen = /connected from (\S+?)\.$/m.exec(curl.stdout)?.[1];
  if (seen) out(`   the web server saw the connection come from ${seen}${seen === A.proxyOutside ? " (Dante's outside address), not from the client" : ''}`);
  return curl.code === 0 && flows.length > 0 && flushed;
}

export const demoModule: CommandModule = {
  command: 'demo',
  describe: "Show socksgate at work in a throwaway lab of network namespaces (needs root and Dante; the host's own network is not changed)",
  handler: async () => {
    const problem = missing();
    if (problem) {
      process.stderr.write(`socksgate demo: ${problem}\n`);
      process.exit(1);
    }
    let lab: DemoLab;
    try {
      lab = DemoLab.create();
    } catch (err) {
      process.stderr.write(`socksgate demo: cannot build the lab: ${errorMessage(err)}\n`);
      process.exit(1);
    }
    process.on('exit', () => lab.destroy());
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));
    let ok = false;
    try {
      ok = await runDemo(lab);
    } catch (err) {
      out(`the demo failed: ${errorMessage(err)}`);
    }
    lab.destroy();
    out(`4. cleaned up: processes stopped, namespaces ${Object.values(lab.ns).join(', ')} deleted.`);
    process.exit(ok ? 0 : 1);
  },
};
