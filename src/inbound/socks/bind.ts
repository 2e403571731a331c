import type { Socket } from 'node:net';
import { ErrorCode, SgError, errorCode, errorMessage } from '../../core/errors.js';
import { newFlow } from '../../core/flow.js';
import type { BindListener, BoundConnection } from '../../adapter/bind.js';
import { relayEnded, reportDialFailure, type FlowInFlight } from '../../relay/flow-report.js';
import type { SocksCommandDeps } from './command-deps.js';
import type { SocksCommandHandler, SocksCommandRequest } from './commands.js';
import { watchControl } from './control-watch.js';
import { closeWith } from './handshake.js';
import { failureOf } from './reply-code.js';

function write(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/**
 * BIND (RFC 1928 §6, SOCKS4 BIND): the router decides the flow as it would a CONNECT to the
 * request's address; the chosen outbound opens the BIND (a local listener when direct, the
 * upstream's own BIND when through a SOCKS5 server). The first reply announces where the remote
 * must connect, the second names who did, then the control connection is relayed to that
 * connection. `timeoutMs` (read per request, it follows reloads) bounds the wait for the remote.
 */
export function bindCommand(deps: SocksCommandDeps, timeoutMs: () => number): SocksCommandHandler {
  return (request) => {
    serveBind(request, deps, timeoutMs()).catch((err: unknown) => {
      // serveBind reports its own failures; anything reaching here is a bug, and costs this client only.
      deps.flows.log.error({ inbound: 'socks', reason: errorCode(err) }, `BIND failed: ${errorMessage(err)}`);
      request.socket.destroy();
    });
  };
}

async function serveBind(request: SocksCommandRequest, { router, guard, flows: deps }: SocksCommandDeps, timeoutMs: number): Promise<void> {
  const { socket, src, target, user, encode } = request;
  const flow = newFlow({ network: 'tcp', src, dst: target, inbound: 'socks', user });
  const decision = router.decide(flow);
  deps.decisions?.decided('tcp', decision);
  const { outbound } = decision;
  const f: FlowInFlight = { flow, outbound: outbound.name, rule: decision.rule, target, startedAt: Date.now() };
  deps.observer?.opened(f);
  const watch = watchControl(socket, true);
  deps.sessions.add(flow.id, () => socket.destroy());
  let listener: BindListener | undefined;
  const closeListener = () => listener?.close();
  let conn: BoundConnection;
  try {
    const loop = guard.check(target);
    if (loop) throw new SgError(ErrorCode.LOOP, loop);
    if (decision.action === 'reject') throw new SgError(ErrorCode.REJECTED, 'rejected by a route rule');
    if (!outbound.bind) throw new SgError(ErrorCode.BIND_UNSUPPORTED, `outbound ${outbound.name} cannot BIND`);
    listener = await outbound.bind(target, { flowId: flow.id, signal: watch.signal, localHost: socket.localAddress ?? '0.0.0.0' });
    // The client left while the BIND opened: nothing waits for it.
    if (watch.signal.aborted) throw new SgError(ErrorCode.CLIENT_RESET, 'client closed the control connection before the BIND was open');
    watch.signal.addEventListener('abort', closeListener, { once: true });
    await write(socket, encode('succeeded', listener.bound));
    conn = await listener.accepted(timeoutMs);
    if (watch.signal.aborted) {
      conn.socket.destroy();
      throw new SgError(ErrorCode.CLIENT_RESET, 'client closed the control connection before the peer connected');
    }
    await write(socket, encode('succeeded', conn.peer));
  } catch (err) {
    watch.signal.removeEventListener('abort', closeListener);
    listener?.close();
    const left = watch.signal.aborted ? new SgError(ErrorCode.CLIENT_RESET, 'client closed the control connection while the BIND waited', { cause: err }) : err;
    watch.release();
    reportDialFailure(f, left, deps);
    // The reply (the first, or the second after the wait) says why; a client that left gets nothing.
    if (watch.signal.aborted) socket.destroy();
    else closeWith(socket, encode(failureOf(err)));
    return;
  }
  watch.signal.removeEventListener('abort', closeListener);
  // The bytes the client sent past its request were read first, so they lead the held ones.
  watch.release();
  let relay;
  try {
    relay = deps.relay(socket, conn.socket, { idleMs: deps.idleMs });
  } catch (err) {
    // EMFILE for the splice relay's pipe: this flow fails, the daemon carries on.
    conn.socket.destroy();
    socket.resetAndDestroy();
    reportDialFailure(f, err, deps);
    return;
  }
  deps.sessions.add(flow.id, relay.stop);
  const result = await relay.done;
  relayEnded(f, result, deps);
}
