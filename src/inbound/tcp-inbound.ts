import { createServer, type Server, type Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import { newFlow, type Flow, type InboundKind } from '../core/flow.js';
import type { Logger } from '../observe/logger.js';
import type { LoopGuard } from './loop-guard.js';

export interface TcpInboundDeps {
  readonly guard: LoopGuard;
  readonly onFlow: (flow: Flow, client: Socket) => void;
  readonly log: Logger;
  /** SO_REUSEPORT on the listening sockets: several worker processes share each address. */
  readonly reusePort?: boolean;
}

/** What distinguishes one TCP inbound from another: how it listens and how it learns the destination. */
export interface TcpInboundKind {
  readonly kind: InboundKind;
  listen(server: Server, at: SocksAddr, reusePort: boolean): Promise<void>;
  /** The destination the application asked for; throws when the kernel has none for this socket. */
  destination(client: Socket): SocksAddr;
}

/** Swallows a client socket's 'error' ('close' follows it): one function, not a closure per connection. */
function ignoreError(): void {}

/**
 * A listener for diverted connections. It only recovers each connection's destination, refuses
 * loops, and hands a Flow to the router. Clients stay paused until an upstream is ready; they have
 * TCP_NODELAY from the listening socket.
 */
export async function startTcpInbound(inbound: TcpInboundKind, at: SocksAddr, deps: TcpInboundDeps): Promise<Server> {
  const log = deps.log.child({ inbound: inbound.kind, listen: formatAddr(at) });
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.on('connection', (client) => {
    client.on('error', ignoreError);
    const src = addrOf(client.remoteAddress ?? '', client.remotePort ?? 0);
    let dst: SocksAddr;
    try {
      dst = inbound.destination(client);
    } catch (err) {
      log.warn({ src: formatAddr(src), reason: errorCode(err) }, `refused: no original destination (a direct connection to the listener, not diverted by a rule): ${errorMessage(err)}`);
      client.resetAndDestroy();
      return;
    }
    const loop = deps.guard.check(dst);
    if (loop) {
      log.warn({ src: formatAddr(src), dst: formatAddr(dst), reason: 'SG_ERR_LOOP' }, `refused loop: ${loop}`);
      client.resetAndDestroy();
      return;
    }
    deps.onFlow(newFlow({ network: 'tcp', src, dst, inbound: inbound.kind }), client);
  });
  server.on('error', (err) => log.error({ reason: errorCode(err) }, `listener error: ${errorMessage(err)}`));
  await inbound.listen(server, at, deps.reusePort ?? false);
  log.info('listening');
  return server;
}
