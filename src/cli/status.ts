import { connect } from 'node:net';
import type { Argv, CommandModule } from 'yargs';
import type { StatusSnapshot } from '../observe/control.js';
import { controlPath, withControlOption } from './observe-options.js';

const TIMEOUT_MS = 5_000;

export function readSnapshot(file: string): Promise<StatusSnapshot> {
  return new Promise((resolve, reject) => {
    const socket = connect(file);
    const chunks: Buffer[] = [];
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no answer on ${file} within ${TIMEOUT_MS} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as StatusSnapshot);
      } catch (err) {
        reject(new Error(`${file} answered something that is not a socksgate status: ${(err as Error).message}`));
      }
    });
  });
}

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** Columns padded to their widest cell; the last column is left ragged. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatStatus(s: StatusSnapshot): string {
  const upstreams = table(
    ['UPSTREAM', 'SERVER', 'PIPELINING', 'DIALS', 'FAILED', 'LAST ERROR'],
    s.upstreams.map((u) => [
      u.name,
      u.server,
      u.pipelining,
      String(u.dials),
      String(u.failures),
      u.lastError ? `${age(s.now - u.lastError.at)} ago ${u.lastError.reason}: ${u.lastError.message}` : '-',
    ]),
  );
  const groups = (s.groups ?? []).length === 0 ? '' : table(
    ['GROUP', 'POLICY', 'MEMBER', 'STATE', 'SINCE', 'UDP', 'HANDSHAKE', 'ACTIVE', 'FAILED', 'FAILOVERS', 'WHY'],
    s.groups!.flatMap((g) =>
      g.members.map((m) => [
        g.name,
        g.policy,
        m.name,
        m.state,
        `${age(s.now - m.since)} ago`,
        m.udp,
        m.latencyMs === undefined ? '-' : `${m.latencyMs} ms`,
        String(m.activeFlows),
        String(m.failures),
        String(m.failovers),
        m.why ?? '-',
      ]),
    ),
  ) + '\n';
  // Bytes are counted once a flow ends (the kernel relays them until then), so live rows show none.
  const flows = table(
    ['ID', 'INBOUND', 'SRC', 'DST', 'OUTBOUND', 'AGE', 'BYTES', 'RULE'],
    s.flows.map((f) => [String(f.id), f.user !== undefined ? `${f.inbound} (${f.user})` : f.inbound, f.src, f.target ? `${f.dst} (${f.target})` : f.dst, f.outbound, age(s.now - f.startedAt), '-', f.rule ?? '-']),
  );
  const udp = s.udp ? `UDP: ${s.udp.associations} associations, ${s.udp.replySockets} reply sockets\n` : '';
  return `socksgate pid ${s.pid}, up ${age(s.now - s.startedAt)}\n\n${upstreams}\n${groups}${s.flows.length} live TCP flows\n${flows}${udp}`;
}

export const statusModule: CommandModule = {
  command: 'status',
  describe: 'Show the running daemon\'s live flows and upstream health (reads its control socket)',
  builder: (yargs: Argv) => withControlOption(yargs).option('json', { type: 'boolean', default: false, describe: 'Print the raw snapshot as JSON' }),
  handler: async (args) => {
    const file = controlPath(args.control as string | undefined);
    if (file === undefined) {
      process.stderr.write('status needs a control socket: --control PATH\n');
      process.exit(2);
    }
    let snapshot: StatusSnapshot;
    try {
      snapshot = await readSnapshot(file);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const hint = code === 'ENOENT' ? ' (is socksgate running? started with --control?)' : code === 'EACCES' ? ' (the control socket is for root and the daemon\'s user only)' : '';
      process.stderr.write(`cannot read ${file}: ${(err as Error).message}${hint}\n`);
      process.exit(1);
    }
    process.stdout.write(args.json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatStatus(snapshot));
  },
};
