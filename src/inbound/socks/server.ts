import { formatAddr, type SocksAddr } from '../../core/addr.js';
import { ErrorCode, errorCode, errorMessage, SgError } from '../../core/errors.js';
import { newFlow } from '../../core/flow.js';
import type { Logger } from '../../core/log.js';
import { CodecError, NEED_MORE, type Decoded } from '../../core/need-more.js';
import type { Router } from '../../adapter/router.js';
import type { SocksInboundConfig } from '../../config/socks-inbound.js';
import { listenTcpFd } from '../../native/index.js';
import { acceptTcp } from '../../native/tcp-accept.js';
import { AcceptedClient } from '../accepted-client.js';
import { LogThrottle } from '../log-throttle.js';
import type { LoopGuard } from '../loop-guard.js';
import { REFUSAL_LOG_INTERVAL_MS } from '../tcp-inbound.js';
import type { SocksCommands } from './commands.js';
import type { HandshakeContext, HandshakeResult } from './handshake.js';
import { HandshakeClient } from './handshake-client.js';
import { HandshakeSlots } from './handshake-slots.js';
import { httpHandshake, httpRefusal } from './http.js';
import { protocolOf, type ProxyProtocol } from './protocol.js';
import { socks4Handshake } from './socks4.js';
import { socks5Handshake } from './socks5.js';
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

const HANDSHAKES: Record<ProxyProtocol, (c: HandshakeContext) => Promise<HandshakeResult>> = {
  socks5: socks5Handshake,
  socks4: socks4Handshake,
  http: httpHandshake,
};

/** The client's first byte, left in the buffer for the protocol's own decoder. */
function firstByte(buf: Buffer): Decoded<number> {
  return buf.length === 0 ? NEED_MORE : { value: buf[0], bytesRead: 0 };
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
  let users = new SocksUsers(config.users);
  const commands = deps.commands ?? {};

  async function handshake(client: HandshakeClient, src: SocksAddr): Promise<void> {
    let protocol: ProxyProtocol | undefined;
    let result: HandshakeResult;
    try {
      try {
        protocol = protocolOf(await client.read(firstByte));
        if (!protocol) throw new CodecError('PROXY_UNKNOWN_PROTOCOL', 'neither SOCKS4, SOCKS5 nor an HTTP request');
        const context: HandshakeContext = { client, src, users, commands, refused: (reason, message, user) => refuse(src, reason, message, user) };
        result = await HANDSHAKES[protocol](context);
      } finally {
        // The slot is for the handshake only: released before the flow is routed.
        slots.release();
      }
    } catch (err) {
      // A step that already wrote its last reply (REP 8) closes once that is flushed: not cut short here.
      if (!client.done) {
        const last = protocol === 'http' ? httpRefusal(err) : undefined;
        if (last) client.closeWith(last);
        else client.destroy();
      }
      if (log.isLevelEnabled('debug')) log.debug({ src: formatAddr(src), protocol, reason: errorCode(err) }, `handshake failed: ${errorMessage(err)}`);
      return;
    }
    if (result.kind === 'answered') return;
    client.finish();
    const { target, user, answer } = result;
    const loop = deps.guard.check(target);
    if (loop) {
      answer.failed(new SgError(ErrorCode.LOOP, loop));
      refuse(src, ErrorCode.LOOP, `loop: ${loop}`, user);
      return;
    }
    client.answer = answer;
    deps.router.routeTcp(newFlow({ network: 'tcp', src, dst: target, inbound: 'socks', user }), client);
  }

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
      let client: HandshakeClient;
      try {
        client = new HandshakeClient(clientFd, deps.handshakeMs);
      } catch (err) {
        // The addon could not watch the fd (ENOMEM): this client is refused, the listener carries on.
        slots.release();
        new AcceptedClient(clientFd).reset();
        refuse(src, errorCode(err), `cannot read the client: ${errorMessage(err)}`);
        return;
      }
      // Never rejects: a failed handshake is answered and logged inside.
      void handshake(client, src);
    },
    (err) => log.error({ reason: errorCode(err) }, `listener error: ${errorMessage(err)}`),
  );
  log.info({ users: config.users.length }, 'listening (SOCKS4/4a/5 and HTTP proxy)');
  return {
    reconfigure: (next) => {
      users = new SocksUsers(next.users);
      slots.max = next.maxHandshakes;
    },
    close: () => acceptor.close(),
  };
}
