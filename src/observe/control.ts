import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import type { LiveFlow } from './flow-table.js';
import type { Logger } from '../core/log.js';
import type { GroupHealth, UpstreamHealth } from '../adapter/upstream-health.js';
import type { SocksAddr } from '../core/addr.js';

export const DEFAULT_CONTROL_PATH = '/run/socksgate/control.sock';

/** Where the daemon listens and whom it dials, as its config says: what `socksgate exec` diverts to. */
export interface DaemonEndpoints {
  readonly redirect: readonly SocksAddr[];
  readonly tproxy: readonly SocksAddr[];
  readonly dns?: SocksAddr;
  /** The SO_MARK on the daemon's own sockets. */
  readonly mark: number;
  readonly upstreams: readonly SocksAddr[];
}

/** What one connection to the control socket receives: a JSON line, then EOF. */
export interface StatusSnapshot {
  readonly pid: number;
  readonly now: number;
  readonly startedAt: number;
  readonly flows: readonly LiveFlow[];
  readonly upstreams: readonly UpstreamHealth[];
  /** Absent from daemons older than groups. */
  readonly groups?: readonly GroupHealth[];
  readonly udp?: { readonly associations: number; readonly replySockets: number };
  /** Absent from daemons older than `socksgate exec` asking for it. */
  readonly endpoints?: DaemonEndpoints;
}

function socketAnswers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** A socket file left by a crashed daemon is replaced; one a running daemon answers on is not. */
async function claim(file: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${file} exists and is not a socket`);
  if (await socketAnswers(file)) throw new Error(`${file} is in use by another running socksgate`);
  unlinkSync(file);
}

/** Node's step after listen()'s cluster question (net.js keeps the name for code that wraps it). */
type SetUpListen = (address: string, port: number, addressType: number, backlog: number) => void;

/**
 * Listens on a unix socket path as `server.listen(file)` does, without its first step: asking
 * node:cluster whether this process is a cluster worker, which loads cluster, child_process and
 * dgram for good (idle RSS 46.9 → 46.4 MiB, scripts/startup-time.ts) in a process that never is
 * one. `_listen2` creates, binds and listens the handle, then emits 'listening' or 'error' as
 * listen() does.
 */
function listenWithoutCluster(server: Server, file: string): void {
  const setUp = (server as Server & { _listen2?: SetUpListen })._listen2;
  if (typeof setUp !== 'function') {
    server.listen(file);
    return;
  }
  // What listen() records for address() before it gets there.
  (server as Server & { _pipeName?: string })._pipeName = file;
  setUp.call(server, file, -1, -1, 511);
}

/**
 * The local control socket `socksgate status` reads. Owner only (0600, in a 0750 directory), so
 * only root or the daemon's own user sees who connects where.
 */
export async function serveControl(file: string, snapshot: () => StatusSnapshot, log: Logger): Promise<{ close(): void }> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  await claim(file);
  const server: Server = createServer((conn) => {
    conn.on('error', () => {});
    // Whatever a client sends is dropped, but it must be read: its EOF waits behind unread bytes,
    // and without it the connection (and its descriptor) would stay open after the client left.
    conn.resume();
    conn.end(`${JSON.stringify(snapshot())}\n`);
  });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // bind(2) happens inside listen(), synchronously: the umask keeps the socket owner-only from birth.
  const umask = process.umask(0o177);
  try {
    listenWithoutCluster(server, file);
  } finally {
    process.umask(umask);
  }
  await listening;
  chmodSync(file, 0o600);
  server.on('error', (err) => log.error({ err }, 'control socket error'));
  log.info({ control: file }, 'control socket ready');
  return {
    // Closing a unix socket server removes its file.
    close: () => void server.close(),
  };
}
