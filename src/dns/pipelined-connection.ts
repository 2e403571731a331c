import type { Socket } from 'node:net';
import type { Question } from 'dns-packet';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../codec/dns-tcp-frame.js';
import { ErrorCode, SgError } from '../core/errors.js';
import { buildUpstreamQuery, freeQueryId, matchUpstreamResponse } from './upstream-query.js';
import type { WireAnswer } from './wire-answer.js';

interface Pending {
  /** The query as sent, which the answer must match. */
  readonly sent: Buffer;
  readonly resolve: (answer: WireAnswer) => void;
  readonly reject: (err: Error) => void;
}

/**
 * One DNS-over-TCP connection with many queries in flight (RFC 7766 §6.2.1.1): each gets an id not
 * in use on this connection, answers may come in any order and are matched by id and question.
 */
export class PipelinedConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly reader = new DnsTcpFrameReader();
  private closedError: Error | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private corked = false;
  /** Answers received: a connection that served some may have been closed by the server for idleness. */
  answered = 0;

  constructor(
    private readonly socket: Socket,
    private readonly idleMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new SgError(ErrorCode.DNS_UPSTREAM_CLOSED, `DNS connection failed: ${err.message}`)));
    // The dialed socket is half-open capable: a server that is done (dnsmasq after 100 queries)
    // sends FIN and 'close' would wait for our side; what it has not answered, it never will.
    const closed = () => this.fail(new SgError(ErrorCode.DNS_UPSTREAM_CLOSED, 'DNS connection closed by the upstream'));
    socket.on('end', closed);
    socket.on('close', closed);
    this.armIdle();
  }

  get alive(): boolean {
    return this.closedError === undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  exchange(question: Question, signal: AbortSignal): Promise<WireAnswer> {
    if (this.closedError) return Promise.reject(this.closedError);
    let id: number;
    try {
      id = freeQueryId(this.pending);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<WireAnswer>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        this.armIdle();
        reject(new SgError(ErrorCode.DNS_TIMEOUT, 'no DNS answer before the deadline'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      const sent = buildUpstreamQuery(id, question);
      this.pending.set(id, {
        sent,
        resolve: (answer) => (done(), resolve(answer)),
        reject: (err) => (done(), reject(err)),
      });
      this.disarmIdle();
      this.send(encodeDnsTcpFrame(sent));
    });
  }

  /**
   * Queries asked in one turn of the event loop (a burst from many clients) leave in one write:
   * one syscall and one segment for the proxy to carry instead of one per query.
   */
  private send(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.reader.push(chunk);
    } catch (err) {
      this.fail(new SgError(ErrorCode.DNS_UPSTREAM_CLOSED, `DNS upstream sent bad framing: ${(err as Error).message}`));
      return;
    }
    for (const message of messages) {
      const id = message.readUInt16BE(0);
      const entry = this.pending.get(id);
      const answer = entry && matchUpstreamResponse(message, entry.sent);
      if (!entry || !answer) continue;
      this.pending.delete(id);
      this.answered++;
      entry.resolve(answer);
    }
    if (this.pending.size === 0) this.armIdle();
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.disarmIdle();
    this.socket.destroy();
    for (const entry of this.pending.values()) entry.reject(err);
    this.pending.clear();
  }

  // An idle connection is closed by us rather than left for the server to drop mid-query.
  private armIdle(): void {
    this.disarmIdle();
    if (this.pending.size === 0 && this.alive) {
      this.idleTimer = setTimeout(() => this.close(), this.idleMs);
      this.idleTimer.unref();
    }
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
