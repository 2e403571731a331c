import { chmodSync, closeSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../core/log.js';
import { acceptStream } from '../native/tcp-accept.js';
import { listenUnix, unixSocketAnswers } from '../native/unix-socket.js';
import type { StatusSnapshot } from '../observe/control.js';

/** A socket file left by a crashed daemon is replaced; one a running daemon answers on is not. */
function claim(file: string): void {
  let stat;
  try {
    stat = lstatSync(file);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${file} exists and is not a socket`);
  if (unixSocketAnswers(file)) throw new Error(`${file} is in use by another running socksgate`);
  unlinkSync(file);
}

/**
 * The local control socket `socksgate status` reads. Owner only (0600, in a 0750 directory), so
 * only root or the daemon's own user sees who connects where.
 */
export async function serveControl(file: string, snapshot: () => StatusSnapshot, log: Logger): Promise<{ close(): void }> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  claim(file);
  // bind(2) makes the file with the umask: the socket is owner-only from birth.
  const umask = process.umask(0o177);
  let listenFd: number;
  try {
    listenFd = listenUnix(file);
  } finally {
    process.umask(umask);
  }
  chmodSync(file, 0o600);
  // The listening socket is the addon's, so node:net (and the stream modules under it, ~1 MiB of
  // idle RSS) loads with the first `socksgate status`, not at start; each connection needs a stream.
  let net: Promise<typeof import('node:net')> | undefined;
  const answer = (fd: number) => {
    (net ??= import('node:net'))
      .then(({ Socket }) => {
        let conn;
        try {
          conn = new Socket({ fd, readable: true, writable: true });
        } catch (err) {
          closeSync(fd);
          throw err;
        }
        conn.on('error', () => {});
        // Whatever a client sends is dropped, but it must be read: its EOF waits behind unread bytes,
        // and without it the connection (and its descriptor) would stay open after the client left.
        conn.resume();
        try {
          conn.end(`${JSON.stringify(snapshot())}\n`);
        } catch (err) {
          conn.destroy();
          throw err;
        }
      })
      .catch((err: unknown) => log.error({ err }, 'control socket error'));
  };
  const acceptor = acceptStream(listenFd, answer, (err) => log.error({ err }, 'control socket error'));
  log.info({ control: file }, 'control socket ready');
  let closed = false;
  return {
    close: () => {
      if (closed) return;
      closed = true;
      acceptor.close();
      // Ours since bind: a unix socket file outlives its socket.
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}
