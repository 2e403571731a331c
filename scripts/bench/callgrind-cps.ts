/**
 * User-space instructions per new connection of one or more socksgate builds, by callgrind: each
 * daemon runs under `valgrind --tool=callgrind` in the bench lab (redirect listener, Dante), gets a
 * warm-up load (wrk, Connection: close, a few connections at once: valgrind is ~50× slower), then
 * instructions are counted over a second load and divided by its connections. Deterministic where
 * timings on the shared machine are not; kernel work (the syscalls themselves) is not counted.
 *
 *   sudo node --import tsx scripts/bench/callgrind-cps.ts [--seconds 20] [--warmup 30] LABEL=path/to/dist/main.js ...
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLab } from '../../test/e2e/lab.js';
import { applyRedirectRules, shebangFlags } from '../../test/e2e/socksgate.js';
import { DAEMON_MARK, REDIRECT_PORT, clearRedirect, startServers } from './bench-lab.js';
import { socksgateUrl } from './socksifiers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? Number(args.splice(at, 2)[1]) : def;
  };
  const seconds = opt('seconds', 20);
  const warmup = opt('warmup', 30);
  const lab = await createLab();
  try {
    const servers = await startServers(lab, {});
    const url = servers.nginx.url('/small.txt');
    const wrk = async (s: number) => {
      const r = await lab.exec('client', 'wrk', ['-c', '4', '-t', '1', '-d', `${s}s`, '--timeout', '10s', '-H', 'Connection: close', url], { allowFail: true, timeoutMs: (s + 30) * 1000 });
      return Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
    };
    for (const [label, main] of args.map((a) => a.split('=') as [string, string])) {
      const out = path.join(tmpdir(), `callgrind-cps-${process.pid}-${label}.out`);
      const proc = lab.spawn(
        'client',
        'valgrind',
        ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...shebangFlags(main), main, 'run', '--upstream', socksgateUrl(servers.dante), '--redirect', `127.0.0.1:${REDIRECT_PORT}`, '--mark', String(DAEMON_MARK), '--log-level', 'warn'],
        { name: `callgrind-${label}` },
      );
      for (let waited = 0; ; waited += 500) {
        const ss = await lab.exec('client', 'ss', ['-ltnH', `sport = :${REDIRECT_PORT}`], { allowFail: true });
        if (ss.stdout.trim() !== '') break;
        if (waited > 180_000 || proc.exitCode !== null) throw new Error(`${label} under callgrind does not listen:\n${proc.output()}`);
        await sleep(500);
      }
      await applyRedirectRules(lab, 'client', { exclude: { mark: DAEMON_MARK } });
      try {
        await wrk(warmup);
        spawnSync('callgrind_control', ['-i', 'on', String(proc.pid)]);
        const connections = await wrk(seconds);
        spawnSync('callgrind_control', ['-i', 'off', String(proc.pid)]);
        proc.kill('SIGTERM');
        await Promise.race([proc.exited(), sleep(60_000)]);
        const totals = /^totals:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
        const ir = Number(totals?.[1]);
        console.log(`${label}: ${connections} connections, ${(ir / connections / 1000).toFixed(0)} k instructions per connection (callgrind_annotate ${out})`);
      } finally {
        await clearRedirect(lab);
        await lab.kill(proc, 500);
      }
    }
  } finally {
    await lab.destroy();
  }
}

await main();
