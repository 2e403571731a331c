import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { addrOf, type SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { BindListener, BoundConnection } from '../adapter/bind.js';

const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/**
 * The local address packets to `peer` leave from (a connected UDP socket sends nothing), so the
 * port announced is one the remote can reach; `fallback` when the peer is unknown.
 */
async function localAddressToward(peer: SocksAddr, fallback: string): Promise<string> {
  if (UNSPECIFIED.has(peer.host)) return fallback;
  const probe = createSocket(peer.kind === 'ipv6' ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.connect(peer.port || 9, peer.host, resolve);
    });
    return probe.address().address;
  } catch {
    return fallback;
  } finally {
    probe.close();
  }
}

class LocalBind implements BindListener {
  private closed = false;
  /** Ends a pending `accepted` (the client left): undefined when none is pending. */
  private abandon?: () => void;

  constructor(
    private readonly server: Server,
    readonly bound: SocksAddr,
    /** Only connections from this address count; undefined: any. */
    private readonly expected: string | undefined,
  ) {}

  accepted(timeoutMs: number): Promise<BoundConnection> {
    return new Promise<BoundConnection>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        this.abandon = undefined;
        this.close();
        outcome();
      };
      const timer = setTimeout(() => settle(() => reject(new SgError(ErrorCode.BIND_TIMEOUT, `nobody${this.expected ? ` from ${this.expected}` : ''} connected to the BIND port within ${timeoutMs} ms`))), timeoutMs);
      this.abandon = () => settle(() => reject(new SgError(ErrorCode.ABORTED, 'the BIND was closed while waiting')));
      this.server.on('connection', (socket) => {
        const from = addrOf(socket.remoteAddress ?? '', socket.remotePort ?? 0);
        // Another host trying its luck on the port is turned away; the wait goes on.
        if (this.closed || (this.expected !== undefined && from.host !== this.expected)) {
          socket.resetAndDestroy();
          return;
        }
        settle(() => resolve({ socket, peer: from }));
      });
    });
  }

  close(): void {
    this.abandon?.();
    if (this.closed) return;
    this.closed = true;
    this.server.close();
  }
}

/**
 * BIND done here (`action: direct`): a listener on the local address that routes to the expected
 * peer, port chosen by the kernel, taking only that peer's connection when the request named one.
 */
export async function directBind(peer: SocksAddr, fallbackLocal: string): Promise<BindListener> {
  const host = await localAddressToward(peer, fallbackLocal);
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SgError(ErrorCode.BIND_UNSUPPORTED, `cannot listen for a BIND on ${host}: ${err.message}`, { cause: err })));
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as { port: number };
  const expected = peer.kind === 'domain' || UNSPECIFIED.has(peer.host) ? undefined : peer.host;
  return new LocalBind(server, addrOf(host, port), expected);
}
