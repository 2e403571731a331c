/**
 * The C peers built from source (ipt2socks, hev-socks5-tproxy): where their binaries are, which
 * versions they are, and the uid the ones without SO_MARK run as.
 *
 * The binaries are never part of this repository: they come from SG_BENCH_IPT2SOCKS / SG_BENCH_HEV
 * (or --ipt2socks / --hev), else from the build script beside their source snapshots
 * (SG_BENCH_PEERS_BUILD, default ../shared/peers/build.sh next to the repository), which builds
 * outside the repository and prints `IPT2SOCKS=path` and `HEV=path`. The snapshots' file names
 * carry the upstream commits (ipt2socks-<commit>.tar.gz), which the table's header shows.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { say } from './util.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What ipt2socks.ts and hev.ts start a peer with. */
export interface PeerStartOptions {
  bin: string;
  upstream: { host: string; port: number; auth?: { user: string; pass: string } };
  port: number;
  /** UDP only (the UDP figure, by TPROXY) instead of TCP only. */
  udp: boolean;
}

export interface PeerBinaries {
  ipt2socks: string;
  hev: string;
}

/**
 * The account the peers that cannot mark their sockets (redsocks, ipt2socks) run as, so the
 * diversion rules skip their upstream traffic by uid (`-m owner --uid-owner`): the one Debian's
 * redsocks package creates, free to share since one socksifier runs at a time.
 */
export const PEER_USER = 'redsocks';

/**
 * `cmd args` as PEER_USER with CAP_NET_ADMIN (IP_TRANSPARENT on TPROXY listeners and UDP reply
 * sockets) and CAP_NET_BIND_SERVICE (a reply socket bound to a remote port < 1024) kept ambient
 * across setpriv's exec, since neither peer can drop root and keep them itself.
 */
export function asPeerUser(cmd: string, args: string[]): [string, string[]] {
  const caps = '+net_admin,+net_bind_service';
  return ['setpriv', ['--reuid', PEER_USER, '--regid', PEER_USER, '--clear-groups', '--inh-caps', caps, '--ambient-caps', caps, cmd, ...args]];
}

export function peerUid(): number {
  const r = spawnSync('id', ['-u', PEER_USER], { encoding: 'utf8' });
  const uid = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(uid)) throw new Error(`no user ${PEER_USER} (the redsocks package creates it)`);
  return uid;
}

function buildScript(): string {
  return process.env.SG_BENCH_PEERS_BUILD ?? path.resolve(REPO, '../shared/peers/build.sh');
}

/** Paths given (flags first, then the environment), else what build.sh builds. */
export function peerBinaries(given: Partial<PeerBinaries>): PeerBinaries {
  const ipt2socks = given.ipt2socks ?? process.env.SG_BENCH_IPT2SOCKS;
  const hev = given.hev ?? process.env.SG_BENCH_HEV;
  const found: Partial<PeerBinaries> = { ...(ipt2socks ? { ipt2socks } : {}), ...(hev ? { hev } : {}) };
  if (!found.ipt2socks || !found.hev) {
    const script = buildScript();
    if (!fs.existsSync(script)) throw new Error(`no ipt2socks / hev-socks5-tproxy: set SG_BENCH_IPT2SOCKS and SG_BENCH_HEV, or SG_BENCH_PEERS_BUILD (${script} does not exist)`);
    say(`building the C peers: ${script}`);
    const r = spawnSync('bash', [script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${script}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    const line = (name: string) => new RegExp(`^${name}=(.+)$`, 'm').exec(r.stdout)?.[1]?.trim();
    found.ipt2socks ??= line('IPT2SOCKS');
    found.hev ??= line('HEV');
  }
  for (const [name, bin] of Object.entries(found)) {
    if (!bin || !fs.existsSync(bin)) throw new Error(`${name}: no executable at ${bin ?? '(build.sh printed none)'}`);
  }
  return found as PeerBinaries;
}

/** The commit in the name of a source snapshot beside the build script (`<prefix>-<commit>.tar.gz`). */
function snapshotCommit(prefix: string): string | undefined {
  const dir = path.dirname(buildScript());
  if (!fs.existsSync(dir)) return undefined;
  const tarball = fs.readdirSync(dir).find((f) => f.startsWith(`${prefix}-`) && f.endsWith('.tar.gz'));
  return tarball?.slice(prefix.length + 1, -'.tar.gz'.length);
}

/** "v1.1.5 (source b2f1461)": what the binary says of itself, and the snapshot's commit. */
export function peerVersions(bins: PeerBinaries): { ipt2socks: string; 'hev-socks5-tproxy': string } {
  const out = (bin: string, args: string[]) => {
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 5_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  const source = (prefix: string) => {
    const commit = snapshotCommit(prefix);
    return commit ? ` (source ${commit})` : '';
  };
  // ipt2socks -V: "ipt2socks v1.1.5 <url>"; hev without a config prints its usage and "Version: 2.13.1 <commit or unknown>"
  const ipt = /ipt2socks (v[\w.]+)/.exec(out(bins.ipt2socks, ['-V']))?.[1] ?? 'unknown';
  const hev = /Version: ([\w.]+)/.exec(out(bins.hev, []))?.[1] ?? 'unknown';
  return { ipt2socks: `${ipt}${source('ipt2socks')}`, 'hev-socks5-tproxy': `${hev}${source('hev-socks5-tproxy')}` };
}
