import type { Question } from 'dns-packet';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { UdpAssociation, UdpDialer } from '../adapter/udp.js';
import { buildUpstreamQuery, freeQueryId, matchUpstreamResponse } from './upstream-query.js';
import type { DnsTransport } from './transport.js';
import type { WireAnswer } from './wire-answer.js';

/** Room for the largest SOCKS5 UDP header (RFC 1928 §7: a 255-byte name), written in front of the query. */
const HEADROOM = 4 + 1 + 255 + 2;
/** Whoever asked: a UDP association names its client, and DNS has no application behind it. */
const SELF: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

interface Pending {
  /** The query as sent, which the answer must match. */
  readonly sent: Buffer;
  readonly resolve: (answer: WireAnswer) => void;
  readonly reject: (err: Error) => void;
}

/**
 * DNS over UDP to `server` through one SOCKS5 UDP ASSOCIATE, opened on demand and shared by every
 * query; replies are matched by id and question. A truncated answer is a failure here, so the
 * resolver moves on (e.g. to a tcp:// resolver) instead of caching half an answer.
 */
export class UdpDnsTransport implements DnsTransport {
  readonly name: string;
  private readonly pending = new Map<number, Pending>();
  private association: Promise<UdpAssociation> | undefined;
  private closed = false;

  constructor(
    private readonly server: SocksAddr,
    private readonly dialer: UdpDialer,
  ) {
    this.name = `udp://${formatAddr(server)}`;
  }

  async exchange(question: Question, signal: AbortSignal): Promise<WireAnswer> {
    const association = await this.associate();
    const id = freeQueryId(this.pending);
    return new Promise<WireAnswer>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(new SgError(ErrorCode.DNS_TIMEOUT, 'no DNS answer before the deadline'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      const query = buildUpstreamQuery(id, question);
      this.pending.set(id, { sent: query, resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
      const data = Buffer.alloc(HEADROOM + query.length);
      query.copy(data, HEADROOM);
      if (!association.send(this.server, data, HEADROOM)) {
        this.pending.delete(id);
        done();
        reject(new SgError(ErrorCode.DNS_UPSTREAM_CLOSED, 'the UDP association is closed'));
      }
    });
  }

  close(): void {
    this.closed = true;
    void this.association?.then((a) => a.close(), () => {});
  }

  private associate(): Promise<UdpAssociation> {
    if (this.closed) return Promise.reject(new SgError(ErrorCode.SHUTDOWN, 'DNS transport closed'));
    if (!this.association) {
      const opening = this.dialer.associate(SELF, {
        onReply: (from, payload) => this.onReply(from, payload),
        onClose: (reason) => this.fail(opening, new SgError(ErrorCode.DNS_UPSTREAM_CLOSED, `UDP association ended: ${reason}`)),
      });
      this.association = opening;
      opening.catch(() => {
        if (this.association === opening) this.association = undefined;
      });
    }
    return this.association;
  }

  private onReply(from: SocksAddr, payload: Buffer): void {
    if (payload.length < 12 || from.port !== this.server.port) return;
    const id = payload.readUInt16BE(0);
    const entry = this.pending.get(id);
    const answer = entry && matchUpstreamResponse(payload, entry.sent);
    if (!entry || !answer) return;
    this.pending.delete(id);
    if (payload[2] & 0x02) entry.reject(new SgError(ErrorCode.DNS_UPSTREAM_FAILED, 'answer truncated over UDP'));
    else entry.resolve(answer);
  }

  private fail(association: Promise<UdpAssociation>, err: Error): void {
    if (this.association === association) this.association = undefined;
    for (const entry of this.pending.values()) entry.reject(err);
    this.pending.clear();
  }
}
