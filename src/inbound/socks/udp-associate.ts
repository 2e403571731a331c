import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { addrOf, formatAddr, type SocksAddr } from '../../core/addr.js';
import { errorCode, errorMessage } from '../../core/errors.js';
import { NEED_MORE } from '../../core/need-more.js';
import { RateLimitedWarning } from '../../core/rate-limited-warning.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader, SOCKS5_UDP_MAX_HEADER } from '../../codec/socks5-udp.js';
import type { UdpConfig } from '../../config/schema.js';
import { UdpNat, type UdpNatOwner } from '../../relay/udp-nat.js';
import type { SocksCommandDeps } from './command-deps.js';
import type { SocksCommandHandler, SocksCommandRequest } from './commands.js';
import { watchControl } from './control-watch.js';
import { closeWith } from './handshake.js';

/** Spare bytes in front of each payload handed on: room for the upstream's own SOCKS5 UDP header. */
const HEADROOM = SOCKS5_UDP_MAX_HEADER;

/** Refusals for the association cap are logged at most this often. */
const FULL_LOG_MS = 10_000;

/** The proxy inbound's UDP ASSOCIATE handler, and what its live associations hold (metrics, stop). */
export interface UdpAssociateCommand {
  readonly handler: SocksCommandHandler;
  /** Upstream associations open now, over every client association. */
  readonly upstreamAssociations: number;
  /** Ends every association (the daemon stops). */
  closeAll(): void;
}

/** One client's association: its socket, and the upstream associations its datagrams opened in the shared table. */
interface ClientAssociation {
  /** Closes its upstream associations, the socket and the control connection. */
  close(): void;
}

/**
 * The upstream association table the client associations share, so the `udp.*` bounds hold over
 * all of them at once, as on the TPROXY path. A reload that changes `udp` starts a new one for
 * new associations; the old one ends with its last association.
 */
interface SharedTable {
  /** The `udp` settings it was made with, as JSON: a reload may hand over an equal new object. */
  readonly config: string;
  readonly nat: UdpNat;
  users: number;
}

/**
 * UDP ASSOCIATE (RFC 1928 §7): a UDP socket on the address the client reached the control
 * connection on, announced in the reply. Only datagrams from the client's IP are taken (and only
 * from the port the request named, when it named one: 0.0.0.0:0 is the NAT form, the client's port
 * unknown yet); each is decided by the router and sent through its outbound's association, in one
 * table shared by every client association, with the bounds of the TPROXY path (`udp.*`; and at
 * most `udp.max_associations` client associations at once, further requests get REP 1). Replies
 * come back wrapped in a SOCKS5 UDP header naming their source. Everything ends with the control connection.
 */
export function udpAssociateCommand(deps: SocksCommandDeps, udp: () => UdpConfig): UdpAssociateCommand {
  const live = new Set<ClientAssociation>();
  const tables = new Set<SharedTable>();
  let current: SharedTable | undefined;
  /** Associations open or opening: each holds a UDP socket, so at most udp.max_associations of them. */
  let held = 0;
  let nextId = 1;
  const full = new RateLimitedWarning(FULL_LOG_MS);
  const join = (config: UdpConfig): SharedTable => {
    const settings = JSON.stringify(config);
    if (current?.config !== settings) tables.add((current = { config: settings, nat: sharedNat(config, deps), users: 0 }));
    current.users++;
    return current;
  };
  const leave = (table: SharedTable): void => {
    if (--table.users > 0 || table === current) return;
    table.nat.close();
    tables.delete(table);
  };
  const handler: SocksCommandHandler = (request) => {
    const config = udp();
    if (held >= config.max_associations) {
      closeWith(request.socket, request.encode('general-failure'));
      full.maybe((suppressed) => deps.flows.log.warn({ inbound: 'socks', network: 'udp', client: formatAddr(request.src), suppressed }, `UDP ASSOCIATE refused: ${held} associations are open already (udp.max_associations)`));
      return;
    }
    held++;
    const table = join(config);
    openAssociation(request, deps, table, nextId++).then(
      (association) => {
        if (!association) {
          held--;
          leave(table);
          return;
        }
        live.add(association);
        const watch = watchControl(request.socket, false);
        watch.signal.addEventListener('abort', () => {
          if (!live.delete(association)) return;
          held--;
          association.close();
          leave(table);
        });
      },
      (err: unknown) => {
        held--;
        leave(table);
        deps.flows.log.error({ inbound: 'socks', reason: errorCode(err) }, `UDP ASSOCIATE failed: ${errorMessage(err)}`);
        request.socket.destroy();
      },
    );
  };
  return {
    handler,
    get upstreamAssociations() {
      let sum = 0;
      for (const t of tables) sum += t.nat.size;
      return sum;
    },
    closeAll() {
      for (const a of live) a.close();
      held -= live.size;
      live.clear();
      for (const t of tables) t.nat.close();
      tables.clear();
      current = undefined;
    },
  };
}

function sharedNat(udp: UdpConfig, deps: SocksCommandDeps): UdpNat {
  return new UdpNat({
    maxAssociations: udp.max_associations,
    maxPendingAssociations: udp.max_pending_associations,
    idleMs: udp.timeout_s * 1000,
    queueDatagrams: udp.queue_datagrams,
    queueBytes: udp.queue_bytes,
    inbound: 'socks',
    fakeIp: deps.fakeIp,
    counters: deps.flows.udpCounters,
    log: deps.flows.log.child({ inbound: 'socks', network: 'udp' }),
  });
}

function bindUdp(host: string): Promise<UdpSocket> {
  const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind({ address: host, port: 0, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

async function openAssociation(request: SocksCommandRequest, deps: SocksCommandDeps, table: SharedTable, id: number): Promise<ClientAssociation | undefined> {
  const { socket: control, src, target, user, encode } = request;
  const log = deps.flows.log.child({ inbound: 'socks', network: 'udp', ...(user !== undefined ? { user } : {}), client: formatAddr(src) });
  const localHost = control.localAddress;
  let socket: UdpSocket;
  try {
    if (localHost === undefined) throw new Error('the control connection has no local address');
    socket = await bindUdp(localHost);
  } catch (err) {
    log.warn({ reason: errorCode(err) }, `UDP ASSOCIATE: cannot open a UDP socket: ${errorMessage(err)}`);
    closeWith(control, encode('general-failure'));
    return undefined;
  }
  const c = deps.flows.udpCounters;
  const owner: UdpNatOwner = {
    id,
    user,
    deliver: (from, client, payload) => {
      socket.send([encodeSocks5UdpHeader({ frag: 0, addr: from }), payload], client.port, client.host, (err) => {
        if (err) c.droppedSendError++;
        else c.repliesOut++;
      });
    },
  };
  // The port the client said it sends from; 0 (the NAT form, or a client that does not know it): any port of its IP.
  const clientPort = target.port === 0 ? undefined : target.port;
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    c.datagramsIn++;
    if (from.address !== src.host || (clientPort !== undefined && from.port !== clientPort)) {
      c.droppedForeignSource++;
      return;
    }
    forward(msg, addrOf(from.address, from.port), owner, table.nat, deps);
  });
  socket.on('error', (err) => log.warn({ reason: errorCode(err) }, `UDP ASSOCIATE socket error: ${errorMessage(err)}`));
  const { port } = socket.address();
  control.write(encode('succeeded', addrOf(localHost!, port)));
  log.debug({ relay: formatAddr(addrOf(localHost!, port)), expected: formatAddr(target) }, 'UDP ASSOCIATE open');
  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      table.nat.closeOwner(owner);
      socket.close();
      control.destroy();
      log.debug('UDP ASSOCIATE closed');
    },
  };
}

/** One datagram from the client: its header read, its destination decided, its payload sent on. */
function forward(msg: Buffer, client: SocksAddr, owner: UdpNatOwner, nat: UdpNat, deps: SocksCommandDeps): void {
  const { user } = owner;
  const c = deps.flows.udpCounters;
  let header;
  try {
    header = decodeSocks5UdpHeader(msg);
  } catch {
    header = NEED_MORE;
  }
  if (header === NEED_MORE) {
    c.droppedMalformed++;
    return;
  }
  // Fragments are not reassembled (RFC 1928 lets a server drop them).
  if (header.value.frag !== 0) {
    c.droppedFragmented++;
    return;
  }
  const dst = header.value.addr;
  if (deps.guard.check(dst)) {
    c.droppedLoop++;
    return;
  }
  const host = dst.kind === 'domain' ? undefined : deps.flows.nameOf?.(dst);
  const decision = deps.router.decide({ network: 'udp', inbound: 'socks', src: client, dst, user, ...(host !== undefined ? { host } : {}) });
  deps.flows.decisions?.decided('udp', decision);
  if (decision.action === 'reject') {
    c.droppedRejected++;
    return;
  }
  const payload = msg.length - header.bytesRead;
  const data = Buffer.allocUnsafe(HEADROOM + payload);
  msg.copy(data, HEADROOM, header.bytesRead);
  nat.handle(client, dst, data, HEADROOM, decision.outbound, owner);
}
