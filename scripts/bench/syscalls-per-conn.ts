/**
 * System calls per connection of one or more socksgate builds through the redirect listener and a
 * SOCKS5 upstream (Dante), under the same wrk load as the cps measurement: `strace -c -f` is
 * attached to the daemon for the load, and every count is divided by the accepted connections
 * (accept4 or accept calls that did not fail). Prints each build's total and its top calls per connection.
 * `ipt2socks` or `redsocks-nosplice` in place of a LABEL=path counts that C peer the same way.
 *
 *   sudo node --import tsx scripts/bench/syscalls-per-conn.ts [--seconds 3] LABEL=path/to/dist/main.js|ipt2socks ...
 */
import { createLab } from '../../test/e2e/lab.js';
import { startServers } from './bench-lab.js';
import { peerBinaries } from './peers.js';
import { countSyscalls } from './strace-count.js';
import { setPeerBinaries, setSocksgateMain, withVariant, type VariantId } from './socksifiers.js';

const C_PEERS: readonly string[] = ['ipt2socks', 'redsocks-nosplice'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--seconds');
  const seconds = at >= 0 ? Number(args.splice(at, 2)[1]) : 3;
  if (args.includes('ipt2socks')) setPeerBinaries(peerBinaries({}));
  const lab = await createLab();
  try {
    const servers = await startServers(lab, {});
    const url = servers.nginx.url('/small.txt');
    for (const [label, main] of args.map((a) => (C_PEERS.includes(a) ? [a, ''] : a.split('=')) as [string, string])) {
      if (main) setSocksgateMain(main);
      const variant: VariantId = main ? 'socksgate' : (label as VariantId);
      const { counts } = await withVariant(lab, variant, servers.dante, { tag: `sys-${label}` }, async (running) => {
        const wrk = (s: number) => lab.exec('client', 'wrk', ['-c', '50', '-t', '2', '-d', `${s}s`, '--timeout', '5s', '-H', 'Connection: close', url], { allowFail: true, timeoutMs: (s + 20) * 1000 });
        await wrk(1);
        return countSyscalls(running.pid!, () => wrk(seconds));
      });
      const accepted = ['accept4', 'accept'].reduce((sum, name) => sum + (counts.get(name)?.calls ?? 0) - (counts.get(name)?.errors ?? 0), 0);
      const total = [...counts.values()].reduce((sum, c) => sum + c.calls, 0);
      const top = [...counts].sort((a, b) => b[1].calls - a[1].calls).slice(0, 20);
      console.log(`${label}: ${accepted} connections, ${(total / accepted).toFixed(1)} syscalls per connection`);
      for (const [name, c] of top) console.log(`  ${name.padEnd(16)} ${(c.calls / accepted).toFixed(2)}${c.errors ? ` (${(c.errors / accepted).toFixed(2)} failed)` : ''}`);
    }
  } finally {
    await lab.destroy();
  }
}

await main();
