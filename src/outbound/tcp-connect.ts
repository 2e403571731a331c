import { lookup } from 'node:dns/promises';
import { connect, type Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../core/errors.js';
import { dialMarked } from '../native/index.js';

export interface TcpConnectOptions {
  readonly mark: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

async function resolveServer(server: SocksAddr): Promise<SocksAddr> {
  if (server.kind !== 'domain') return server;
  try {
    const { address } = await lookup(server.host);
    return addrOf(address, server.port);
  } catch (err) {
    throw new SgError(ErrorCode.UPSTREAM_UNREACHABLE, `cannot resolve ${server.host}: ${errorCode(err)}`, { cause: err });
  }
}

/** The failures of a connect to the proxy, worded the same whichever dialer saw them. */
export function connectTimedOut(server: SocksAddr, timeoutMs: number): SgError {
  return new SgError(ErrorCode.CONNECT_TIMEOUT, `no TCP connection to ${formatAddr(server)} within ${timeoutMs} ms`);
}

export function connectFailed(server: SocksAddr, cause: unknown): SgError {
  return new SgError(ErrorCode.UPSTREAM_UNREACHABLE, `cannot connect to ${formatAddr(server)}: ${errorCode(cause)}`, { cause });
}

/**
 * A connected TCP socket to `server`, half-open capable, paused, with TCP_NODELAY. With a mark, the
 * socket carries SO_MARK from before its SYN so firewall rules can tell the daemon's own traffic apart.
 */
export async function connectTcp(server: SocksAddr, opts: TcpConnectOptions): Promise<Socket> {
  const target = server.kind === 'domain' ? await resolveServer(server) : server;
  const socket =
    opts.mark > 0
      ? dialMarked({ host: target.host, port: target.port }, opts.mark)
      : connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
  socket.allowHalfOpen = true;
  socket.pause();
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => fail(connectTimedOut(server, opts.timeoutMs)), opts.timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error) {
      cleanup();
      socket.destroy();
      reject(err);
    }
    function onConnect() {
      cleanup();
      resolve(socket);
    }
    function onError(err: Error) {
      fail(connectFailed(server, err));
    }
    function onAbort() {
      fail(new SgError(ErrorCode.ABORTED, 'client went away while connecting'));
    }
    if (opts.signal?.aborted) return onAbort();
    socket.once('connect', onConnect);
    socket.once('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
