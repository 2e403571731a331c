import { ErrorCode, SgError } from '../core/errors.js';
import { Socks4Reply, decodeSocks4Reply, encodeSocks4Request, socks4ReplyReason } from '../codec/socks4.js';
import { expectFrame } from './expect-frame.js';
import type { RequestReply } from './single-request.js';

/** SOCKS4 carries IPv4 only; SOCKS4a adds names, so the proxy resolves them. */
export function socks4Handshake(userId: string, allowDomain: boolean): RequestReply {
  return async (socket, dst, deadline, signal, earlyData) => {
    if (dst.kind === 'ipv6') throw new SgError(ErrorCode.UPSTREAM_REFUSED, 'SOCKS4 cannot carry IPv6 destinations');
    if (dst.kind === 'domain' && !allowDomain) {
      throw new SgError(ErrorCode.UPSTREAM_REFUSED, 'SOCKS4 cannot carry domain names; use socks4a://');
    }
    const request = encodeSocks4Request({ command: 1, addr: dst, userId });
    socket.write(earlyData ? Buffer.concat([request, earlyData]) : request);
    const { code } = await expectFrame(socket, decodeSocks4Reply, 'SOCKS4 reply', deadline, signal);
    if (code !== Socks4Reply.GRANTED) throw new SgError(ErrorCode.UPSTREAM_REFUSED, `upstream refused: ${socks4ReplyReason(code)}`);
  };
}
