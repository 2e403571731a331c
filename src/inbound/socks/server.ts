import { formatAddr, type SocksAddr } from '../../core/addr.js';
import { ErrorCode, errorCode, errorMessage, SgError } from '../../core/errors.js';
import { newFlow } from '../../core/flow.js';
import type { Logger } from '../../core/log.js';
import type { Router } from '../../adapter/router.js';
import type { SocksInboundConfig } from '../../config/socks-inbound.js';
import { listenTcpFd } from '../../native/index.js';
import { acceptTcp } from '../../native/tcp-accept.js';
import { AcceptedClient } from '../accepted-client.js';
import { LogThrottle } from '../log-throttle.js';
import type { LoopGuard } from '../loop-guard.js';
import { REFUSAL_LOG_INTERVAL_MS } from '../tcp-inbound.js';
import type { SocksCommands } from './commands.js';
import { ClientHandshake, type HandshakeListener } from './client-handshake.js';
import { HandshakeSlots } from './handshake-slots.js';
import { SocksUsers } from './users.js';

export interface SocksInboundDeps {
  readonly router: Router;
  readonly guard: LoopGuard;
  readonly log: Logger;
  /** One deadline for a client's whole handshake, from accept to its request. */
  readonly handshakeMs: number;
  /** SO_REUSEPORT on the listening socket: several worker processes share the address. */
  readonly reusePort?: boolean;
  /** Commands besides CONNECT; absent ones are answered "command not supported". */
  readonly commands?: SocksCommands;
}

export interface SocksInbound {
  /** A reload changed the logins or the handshake cap: connections from now on see them. */
  reconfigure(config: SocksInboundConfig): void;
  close(): void;
}

/**
 * A local SOCKS4/4a/5 and HTTP proxy listener. Each connection's protocol is told by its first
 * byte; its handshake recovers the destination (a name stays a name) and the user, and the flow
 * (inbound `socks`) goes to the router, which answers the client once the upstream dial is done.
 */
export function startSocksInbound(config: SocksInboundConfig, deps: SocksInboundDeps): SocksInbound {
  const log = deps.log.child({ inbound: 'socks', listen: formatAddr(config.listen) });
  const refusals = new LogThrottle(REFUSAL_LOG_INTERVAL_MS, (reason, count) =>
    log.warn({ reason, suppressed: count }, `refused ${count} more client(s) for the same reason in the last ${REFUSAL_LOG_INTERVAL_MS / 1000} s`),
  );
  const refuse = (src: SocksAddr, reason: string, message: string, user?: string) => {
    if (refusals.allow(reason)) log.warn({ src: formatAddr(src), reason, ...(user !== undefined ? { user } : {}) }, `refused: ${message}`);
  };
  const slots = new HandshakeSlots(config.maxHandshakes);
  const listener: HandshakeListener = {
    users: new SocksUsers(config.users),
    commands: deps.commands ?? {},
    handshakeMs: deps.handshakeMs,
    refuse,
    ended(handshake, result, err, protocol) {
      // The slot is for the handshake only: released before the flow is routed.
      slots.release();
      const { client, src } = handshake;
      if (result === undefined) {
        if (log.isLevelEnabled('debug')) log.debug({ src: formatAddr(src), protocol, reason: errorCode(err) }, `handshake failed: ${errorMessage(err)}`);
        return;
      }
      if (result.kind === 'answered') return;
      const { target, user, answer } = result;
      const loop = deps.guard.check(target);
      if (loop) {
        answer.failed(new SgError(ErrorCode.LOOP, loop));
        refuse(src, ErrorCode.LOOP, `loop: ${loop}`, user);
        return;
      }
      client.answer = answer;
      deps.router.routeTcp(newFlow({ network: 'tcp', src, dst: target, inbound: 'socks', user }), client);
    },
  };

  const fd = listenTcpFd(config.listen, { transparent: false, reusePort: deps.reusePort ?? false, backlog: 1024 });
  const acceptor = acceptTcp(
    fd,
    'local',
    ({ fd: clientFd, src }) => {
      if (!slots.take()) {
        refuse(src, 'SG_ERR_HANDSHAKES_FULL', `${slots.max} handshakes already in progress (max_handshakes)`);
        new AcceptedClient(clientFd).reset();
        return;
      }
      try {
        new ClientHandshake(clientFd, src, listener);
      } catch (err) {
        // The addon could not watch the fd (ENOMEM): this client is refused, the listener carries on.
        slots.release();
        new AcceptedClient(clientFd).reset();
        refuse(src, errorCode(err), `cannot read the client: ${errorMessage(err)}`);
      }
    },
    (err) => log.error({ reason: errorCode(err) }, `listener error: ${errorMessage(err)}`),
  );
  log.info({ users: config.users.length }, 'listening (SOCKS4/4a/5 and HTTP proxy)');
  return {
    reconfigure: (next) => {
      listener.users = new SocksUsers(next.users);
      slots.max = next.maxHandshakes;
    },
    close: () => acceptor.close(),
  };
}
