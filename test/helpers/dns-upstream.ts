/** A DNS-over-TCP resolver on loopback and an outbound that dials it directly: DNS transports without a SOCKS server. */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { DnsTcpFrameReader } from '../../src/codec/dns-tcp-frame.js';
import type { Outbound } from '../../src/adapter/outbound.js';
import { noUdp } from './outbounds.js';

export type Reply = (query: Packet, socket: Socket) => void;

/** A DNS-over-TCP server whose behaviour per query is `reply`; counts connections. The caller closes `server`. */
export async function startDnsServer(reply: Reply): Promise<{ server: Server; port: number; connections: () => number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const reader = new DnsTcpFrameReader();
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      for (const message of reader.push(chunk)) reply(dnsPacket.decode(message), socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => sockets.length, sockets };
}

/** An outbound that dials directly. Half-open capable, as the real dialers' sockets are. */
export function directOutbound(port: number): Outbound & { dials: number } {
  return {
    name: 'direct',
    server: { kind: 'ipv4', host: '127.0.0.1', port },
    associate: noUdp,
    dials: 0,
    dial() {
      this.dials++;
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      return new Promise((resolve, reject) => socket.once('connect', () => resolve(socket)).once('error', reject));
    },
  };
}
