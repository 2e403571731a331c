import { ErrorCode, SgError } from '../core/errors.js';
import { Socks4Reply, decodeSocks4Reply, encodeSocks4Request, socks4ReplyReason } from '../codec/socks4.js';
import { requestReply, type RequestReply } from './single-request.js';

/** SOCKS4 carries IPv4 only; SOCKS4a adds names, so the proxy resolves them. */
export function socks4Handshake(userId: string, allowDomain: boolean): RequestReply {
  return (dst, earlyData) => {
    if (dst.kind === 'ipv6') throw new SgError(ErrorCode.UPSTREAM_REFUSED, 'SOCKS4 cannot carry IPv6 destinations');
    if (dst.kind === 'domain' && !allowDomain) {
      throw new SgError(ErrorCode.UPSTREAM_REFUSED, 'SOCKS4 cannot carry domain names; use socks4a://');
    }
    const request = encodeSocks4Request({ command: 1, addr: dst, userId });
    return requestReply(request, earlyData, 'SOCKS4 reply', decodeSocks4Reply, ({ code }) => {
      if (code !== Socks4Reply.GRANTED) throw new SgError(ErrorCode.UPSTREAM_REFUSED, `upstream refused: ${socks4ReplyReason(code)}`);
    });
  };
}
