import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../codec/dns-tcp-frame.js';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { DnsHandler } from '../dns/handler.js';
import type { DnsClientFilter } from './dns-clients.js';
import type { Logger } from '../core/log.js';

/** A client that leaves a DNS TCP connection idle this long is dropped (RFC 7766 §6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/** Queries of one TCP connection resolved at once; the rest wait unread (RFC 7766 §6.2.1.1 lets a server limit this). */
const TCP_MAX_IN_FLIGHT = 16;

/** Refused queries are logged at most this often (with how many there were), so a flood cannot fill the log. */
const REFUSED_LOG_MS = 10_000;

/** What the listeners need of the DNS handler. */
export type QueryHandler = Pick<DnsHandler, 'handle'>;
/** Whether a peer may be answered (see dns-clients.ts). */
export type ClientCheck = Pick<DnsClientFilter, 'allows'>;

export interface DnsListener {
  /** Queries (UDP) and connections (TCP) ignored because of their source. */
  readonly refused: number;
  close(): void;
}

/** Counts queries from sources that may not use the listener, and says so now and then. */
class Refusals {
  count = 0;
  private loggedAt = -Infinity;
  private suppressed = 0;

  constructor(private readonly log: Logger) {}

  add(via: 'udp' | 'tcp', from: string): void {
    this.count++;
    const now = Date.now();
    if (now - this.loggedAt < REFUSED_LOG_MS) {
      this.suppressed++;
      return;
    }
    this.log.warn({ via, from, refused: this.count, suppressed: this.suppressed }, 'DNS query ignored: its source is not loopback, this host, the LAN (rules.lan_interfaces, rules.lan_sources) or dns.allow_sources');
    this.loggedAt = now;
    this.suppressed = 0;
  }
}

function udpListener(at: SocksAddr, handler: QueryHandler, clients: ClientCheck, refusals: Refusals, log: Logger): Promise<UdpSocket> {
  const socket = createSocket({ type: at.kind === 'ipv6' ? 'udp6' : 'udp4', reuseAddr: false });
  socket.on('message', (msg, rinfo) => {
    const peer = { host: rinfo.address, port: rinfo.port };
    const from = formatAddr(peer);
    if (!clients.allows(rinfo.address)) return refusals.add('udp', from);
    void handler
      .handle(msg, 'udp', peer)
      .then((reply) => {
        if (reply) socket.send(reply, rinfo.port, rinfo.address);
      })
      .catch((err: unknown) => log.warn({ via: 'udp', from, reason: errorCode(err) }, `DNS reply failed: ${errorMessage(err)}`));
  });
  socket.on('error', (err) => log.error({ reason: errorCode(err) }, `DNS UDP listener error: ${errorMessage(err)}`));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(at.port, at.host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function tcpListener(at: SocksAddr, handler: QueryHandler, clients: ClientCheck, refusals: Refusals, log: Logger): Promise<Server> {
  // Half-open: a client may send its queries then shut down its side; it still gets the answers.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const peer = { host: client.remoteAddress ?? '', port: client.remotePort ?? 0 };
    const from = formatAddr(peer);
    if (!clients.allows(client.remoteAddress ?? '')) {
      refusals.add('tcp', from);
      client.destroy();
      return;
    }
    /** Queries read but not yet handed to the handler (at most one read's worth: reading pauses meanwhile). */
    let waiting: Buffer[] = [];
    let next = 0;
    let inFlight = 0;
    let clientDone = false;
    const reader = new DnsTcpFrameReader();
    const answer = (message: Buffer) => {
      inFlight++;
      void handler
        .handle(message, 'tcp', peer)
        .then((reply) => {
          if (reply && client.writable) client.write(encodeDnsTcpFrame(reply));
        })
        .catch((err: unknown) => log.warn({ via: 'tcp', from, reason: errorCode(err) }, `DNS reply failed: ${errorMessage(err)}`))
        .finally(() => {
          inFlight--;
          pump();
        });
    };
    // Answered as each is ready, not in order: RFC 7766 §7 lets clients pipeline. A client that
    // does not read its answers stops being read: its memory here is bounded by TCP_MAX_IN_FLIGHT
    // answers and one read, and the idle timeout ends it.
    const pump = () => {
      while (next < waiting.length && inFlight < TCP_MAX_IN_FLIGHT && !client.writableNeedDrain) answer(waiting[next++]);
      if (next === waiting.length) [waiting, next] = [[], 0];
      if (waiting.length > 0 || inFlight >= TCP_MAX_IN_FLIGHT || client.writableNeedDrain) client.pause();
      else client.resume();
      if (clientDone && inFlight === 0 && waiting.length === 0 && !client.writableEnded) client.end();
    };
    client.setTimeout(TCP_IDLE_MS, () => client.destroy());
    client.on('error', () => {});
    client.on('drain', pump);
    client.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) waiting.push(message);
      } catch (err) {
        log.debug({ via: 'tcp', from, reason: errorCode(err) }, 'bad DNS TCP framing: closing');
        client.destroy();
        return;
      }
      pump();
    });
    client.on('end', () => {
      clientDone = true;
      pump();
    });
  });
  server.on('error', (err) => log.error({ reason: errorCode(err) }, `DNS TCP listener error: ${errorMessage(err)}`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** DNS over UDP and TCP on the same address and port, for the clients `clients` allows. */
export async function startDnsListener(at: SocksAddr, handler: QueryHandler, clients: ClientCheck, log: Logger): Promise<DnsListener> {
  const refusals = new Refusals(log);
  const udp = await udpListener(at, handler, clients, refusals, log);
  let tcp: Server;
  try {
    tcp = await tcpListener(at, handler, clients, refusals, log);
  } catch (err) {
    udp.close();
    throw err;
  }
  log.info({ listen: formatAddr(at) }, 'DNS listening (UDP and TCP)');
  return {
    get refused() {
      return refusals.count;
    },
    close() {
      udp.close();
      tcp.close();
    },
  };
}
