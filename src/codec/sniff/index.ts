import { NEED_MORE } from '../../core/need-more.js';
import type { SniffResult } from './hostname.js';
import { sniffHttpHost } from './http-host.js';
import { sniffTlsSni } from './tls-sni.js';

export type { SniffResult } from './hostname.js';

/**
 * The host name in a client's first bytes, by whichever sniffer recognises them: a name, NEED_MORE
 * while some sniffer still might, undefined once none can.
 */
export function sniffHost(buf: Buffer): SniffResult {
  let waiting = false;
  for (const sniff of [sniffTlsSni, sniffHttpHost]) {
    const result = sniff(buf);
    if (typeof result === 'string') return result;
    if (result === NEED_MORE) waiting = true;
  }
  return waiting ? NEED_MORE : undefined;
}
