/**
 * Round trips to the first byte through chains of 1, 2 and 3 Dante hops, with every hop step by
 * step (pipelining=off) and pipelined (pipelining=on): curl of nginx /small.txt from the client
 * namespace across the 20 ms delay line (delay-line.ts), counted as measure-ttfb.ts does. All hops
 * sit in the proxy namespace, so only socksgate ⇄ hop 1 crosses the delay: every round trip counted
 * is one the chain's handshake (all hops' messages, tunnelled through hop 1) waits for.
 *
 *   sudo node --import tsx scripts/bench/chain-ttfb.ts [--count N]   (npm run build first)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDante, startNginx } from '../../test/e2e/lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate } from '../../test/e2e/socksgate.js';
import { directOff, directOn } from './bench-lab.js';
import { compileDelayLine, createDelayLab } from './delay-line.js';
import { roundTrips, runTtfb } from './measure-ttfb.js';
import { median, say } from './util.js';

const OUT = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'), 'bench-out');
const RTT_MS = 20;
const PORTS = [1080, 1090, 1095];
const countArg = process.argv.indexOf('--count');
const count = countArg > 0 ? Number(process.argv[countArg + 1]) : 10;

fs.mkdirSync(OUT, { recursive: true });
const { lab } = await createDelayLab(compileDelayLine(path.join(OUT, 'bin')), RTT_MS);
try {
  const nginx = await startNginx(lab);
  const url = nginx.url('/small.txt');
  // Hops 2 and 3 listen on the proxy's internet side too, where the hop in front reaches them.
  for (const [i, port] of PORTS.entries()) await startDante(lab, { port, internetSide: i > 0 });
  await directOn(lab);
  const direct = await runTtfb(lab, url, count);
  await directOff(lab);
  const rttMs = median(direct.connectMs);
  const directMs = median(direct.ttfbMs);
  await applyRedirectRules(lab, 'client');
  const rows: string[] = [];
  for (const hops of [1, 2, 3]) {
    const cells: string[] = [];
    for (const pipelining of ['off', 'on']) {
      const config = path.join(lab.dir, `chain-${hops}-${pipelining}.yaml`);
      const hosts = PORTS.map((port, i) => (i === 0 ? `${lab.addr.proxyClientSide}:${port}` : `${lab.addr.proxyInternetSide}:${port}`));
      const upstreams = hosts.map((host, i) => `  - { name: d${i + 1}, url: "socks5://${host}", pipelining: ${pipelining} }`);
      const chains = ['  - { name: c2, chain: [d1, d2] }', '  - { name: c3, chain: [d1, d2, d3] }'];
      fs.writeFileSync(config, ['upstreams:', ...upstreams, ...chains, 'route:', `  final: ${hops === 1 ? 'd1' : `c${hops}`}`, ''].join('\n'));
      say(`chain ttfb: ${hops} hop(s), pipelining ${pipelining}`);
      const daemon = await startSocksgate(lab, 'client', ['--config', config, '--mark', String(DAEMON_MARK)], { name: `sg-chain-${hops}-${pipelining}`, logLevel: 'info' });
      try {
        const samples = await runTtfb(lab, url, count);
        cells.push(roundTrips(median(samples.ttfbMs), directMs, rttMs).toFixed(1));
      } finally {
        await daemon.stop();
      }
    }
    rows.push(`| ${hops} | ${cells.join(' | ')} |`);
  }
  process.stdout.write(
    [
      `Round trips to the first byte (direct = 2.0; measured RTT ${rttMs.toFixed(1)} ms, median of ${count}):`,
      '',
      '| hops | step by step | pipelined |',
      '|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  await lab.destroy();
}
