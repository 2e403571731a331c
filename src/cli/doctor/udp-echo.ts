import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { formatAddr, type SocksAddr } from '../../core/addr.js';
import { errorMessage } from '../../core/errors.js';
import { NEED_MORE } from '../../core/need-more.js';
import { decodeSocks5UdpHeader, encodeSocks5UdpHeader } from '../../codec/socks5-udp.js';
import { openUdpSocket } from '../../native/index.js';
import { finding, type Finding } from './report.js';

/**
 * One real datagram through the relay to an echo server, and its echo back: the only proof that
 * the announced relay address is reachable from here and that the server forwards replies.
 */
export async function udpEcho(relay: SocksAddr, echo: SocksAddr, s: { mark: number; timeoutMs: number }, subject: string): Promise<Finding> {
  const payload = Buffer.from(`socksgate doctor ${randomBytes(6).toString('hex')}`);
  let socket: UdpSocket;
  try {
    // Marked like the daemon's own sockets, so rules that divert UDP leave the probe alone.
    socket = openUdpSocket(relay.kind === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 }, { mark: s.mark });
  } catch (err) {
    return finding('FAIL', subject, `cannot open a UDP socket: ${errorMessage(err)}`);
  }
  try {
    const echoed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.min(s.timeoutMs, 3_000));
      socket.on('message', (msg) => {
        try {
          const header = decodeSocks5UdpHeader(msg, 0);
          if (header !== NEED_MORE && msg.subarray(header.bytesRead).equals(payload)) {
            clearTimeout(timer);
            resolve(true);
          }
        } catch {
          // not a relay reply: keep waiting
        }
      });
      socket.send(Buffer.concat([encodeSocks5UdpHeader({ frag: 0, addr: echo }), payload]), relay.port, relay.host);
    });
    if (echoed) return finding('ok', subject, `a datagram to ${formatAddr(echo)} through ${formatAddr(relay)} came back intact`);
    return finding('FAIL', subject, `no echo from ${formatAddr(echo)} through ${formatAddr(relay)} within 3 s: the relay address is not reachable from here, a firewall drops it, or the echo server is down`);
  } finally {
    socket.close();
  }
}
