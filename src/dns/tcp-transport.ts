import type { Question } from 'dns-packet';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode } from '../core/errors.js';
import type { Outbound } from '../adapter/outbound.js';
import { PipelinedConnection } from './pipelined-connection.js';
import type { DnsTransport } from './transport.js';
import type { WireAnswer } from './wire-answer.js';

interface Slot {
  connection?: PipelinedConnection;
  dialing?: Promise<PipelinedConnection>;
}

export interface TcpTransportOptions {
  /** Connections kept to this resolver; queries are spread over them. */
  readonly poolSize: number;
  readonly idleMs: number;
}

/**
 * DNS over TCP to `server`, reached through a SOCKS CONNECT of `outbound`. Connections are dialed
 * on demand, reused for many queries at once, and replaced when they fail.
 */
export class TcpDnsTransport implements DnsTransport {
  readonly name: string;
  private readonly slots: Slot[];
  private next = 0;
  private closed = false;

  constructor(
    private readonly server: SocksAddr,
    private readonly outbound: Outbound,
    private readonly opts: TcpTransportOptions,
  ) {
    this.name = `tcp://${formatAddr(server)}`;
    this.slots = Array.from({ length: Math.max(1, opts.poolSize) }, () => ({}));
  }

  async exchange(question: Question, signal: AbortSignal): Promise<WireAnswer> {
    const slot = this.next;
    this.next = (this.next + 1) % this.slots.length;
    const connection = await this.connection(slot, signal);
    const reused = connection.answered > 0;
    try {
      return await connection.exchange(question, signal);
    } catch (err) {
      // A server may close an idle connection just as we send on it (RFC 7766 §6.2.3): one retry on a fresh one.
      if (!reused || errorCode(err) !== ErrorCode.DNS_UPSTREAM_CLOSED || signal.aborted) throw err;
      return (await this.connection(slot, signal)).exchange(question, signal);
    }
  }

  close(): void {
    this.closed = true;
    for (const slot of this.slots) slot.connection?.close();
  }

  private connection(index: number, signal: AbortSignal): Promise<PipelinedConnection> {
    if (this.closed) return Promise.reject(new SgError(ErrorCode.SHUTDOWN, 'DNS transport closed'));
    const slot = this.slots[index];
    if (slot.connection?.alive) return Promise.resolve(slot.connection);
    if (!slot.dialing) {
      slot.connection = undefined;
      // DNS connections are not flows; flowId 0 marks them in the outbound's logs. The dial is
      // shared by every query waiting for this slot, so no single query's deadline aborts it.
      slot.dialing = this.outbound
        .dial(this.server, { flowId: 0 })
        .then((socket) => {
          if (this.closed) socket.destroy();
          return (slot.connection = new PipelinedConnection(socket, this.opts.idleMs));
        })
        .finally(() => (slot.dialing = undefined));
    }
    return withDeadline(slot.dialing, signal);
  }
}

function withDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new SgError(ErrorCode.DNS_TIMEOUT, 'no DNS answer before the deadline'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SgError(ErrorCode.DNS_TIMEOUT, 'no DNS connection before the deadline'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
