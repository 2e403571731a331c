import type { Socket } from 'node:net';
import { ErrorCode } from '../core/errors.js';
import { socketFd } from '../native/index.js';
import { SpliceOutcome, spliceRelay, stopSplice, type SpliceResult } from '../native/splice.js';
import { EARLY_CLOSE, relayTcp, type Relay, type RelayOptions, type RelayResult } from './tcp-relay.js';

function takeBuffered(socket: Socket): Buffer | null {
  return socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
}

export function toRelayResult(r: SpliceResult, sentUp: number): RelayResult {
  const bytes = { bytesUp: r.bytesUp + sentUp, bytesDown: r.bytesDown };
  switch (r.outcome) {
    case SpliceOutcome.CLOSED:
      return { outcome: 'closed', ...bytes };
    case SpliceOutcome.IDLE:
      return { outcome: 'idle', reason: ErrorCode.IDLE_TIMEOUT, detail: 'no traffic within the idle timeout', ...bytes };
    case SpliceOutcome.STOPPED:
      return { outcome: 'stopped', reason: ErrorCode.SHUTDOWN, detail: 'daemon stopping', ...bytes };
    case SpliceOutcome.NO_PIPE:
      // Out of fds: the daemon's failure, reported with the errno as a failed dial reports it.
      return { outcome: 'reset', reason: r.code ?? 'EMFILE', detail: `no pipe for the splice relay: ${r.code}`, ...bytes };
    case SpliceOutcome.UPSTREAM_CLOSED_EARLY:
      return { outcome: 'reset', reason: ErrorCode.UPSTREAM_CLOSED, detail: 'upstream closed before sending any data; the destination was probably unreachable', ...bytes };
    default:
      return { outcome: 'reset', reason: r.side === 'client' ? ErrorCode.CLIENT_RESET : ErrorCode.UPSTREAM_RESET, detail: r.code, ...bytes };
  }
}

/**
 * The same relay as relayTcp, carried out in the kernel with splice(2): bytes never enter the
 * JavaScript heap and an idle connection costs two fds and a few hundred bytes. Falls back to the
 * copying relay when a write is still queued in Node, which only a handshake in flight can cause.
 */
export function relayTcpSpliced(client: Socket, upstream: Socket, opts: RelayOptions): Relay {
  if (client.writableLength > 0 || upstream.writableLength > 0) return relayTcp(client, upstream, opts);
  let settle!: (result: RelayResult) => void;
  const done = new Promise<RelayResult>((resolve) => (settle = resolve));
  const handle = spliceRelay(
    { client: socketFd(client), upstream: socketFd(upstream) },
    { down: takeBuffered(upstream), up: takeBuffered(client) },
    opts.idleMs,
    EARLY_CLOSE,
    { spliceEnded: (result) => settle(toRelayResult(result, opts.sentUp ?? 0)) },
  );
  client.destroy();
  upstream.destroy();
  return { done, stop: () => stopSplice(handle) };
}
