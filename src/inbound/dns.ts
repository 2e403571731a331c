import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { DnsTcpFrameReader, encodeDnsTcpFrame } from '../codec/dns-tcp-frame.js';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import { errorCode, errorMessage } from '../core/errors.js';
import type { DnsHandler } from '../dns/handler.js';
import type { Logger } from '../core/log.js';

/** A client that leaves a DNS TCP connection idle this long is dropped (RFC 7766 §6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/** Queries of one TCP connection resolved at once; the rest wait unread (RFC 7766 §6.2.1.1 lets a server limit this). */
const TCP_MAX_IN_FLIGHT = 16;

/** What the listeners need of the DNS handler. */
export type QueryHandler = Pick<DnsHandler, 'handle'>;

export interface DnsListener {
  close(): void;
}

function udpListener(at: SocksAddr, handler: QueryHandler, log: Logger): Promise<UdpSocket> {
  const socket = createSocket({ type: at.kind === 'ipv6' ? 'udp6' : 'udp4', reuseAddr: false });
  socket.on('message', (msg, rinfo) => {
    const from = formatAddr({ host: rinfo.address, port: rinfo.port });
    void handler
      .handle(msg, 'udp', from)
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

function tcpListener(at: SocksAddr, handler: QueryHandler, log: Logger): Promise<Server> {
  // Half-open: a client may send its queries then shut down its side; it still gets the answers.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    /** Queries read but not yet handed to the handler (at most one read's worth: reading pauses meanwhile). */
    let waiting: Buffer[] = [];
    let next = 0;
    let inFlight = 0;
    let clientDone = false;
    const from = formatAddr({ host: client.remoteAddress ?? '', port: client.remotePort ?? 0 });
    const reader = new DnsTcpFrameReader();
    const answer = (message: Buffer) => {
      inFlight++;
      void handler
        .handle(message, 'tcp', from)
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

/** DNS over UDP and TCP on the same address and port. */
export async function startDnsListener(at: SocksAddr, handler: QueryHandler, log: Logger): Promise<DnsListener> {
  const udp = await udpListener(at, handler, log);
  let tcp: Server;
  try {
    tcp = await tcpListener(at, handler, log);
  } catch (err) {
    udp.close();
    throw err;
  }
  log.info({ listen: formatAddr(at) }, 'DNS listening (UDP and TCP)');
  return {
    close() {
      udp.close();
      tcp.close();
    },
  };
}
