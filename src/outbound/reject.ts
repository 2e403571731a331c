import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError } from '../core/errors.js';
import type { DialPlan } from '../adapter/handshake.js';
import type { Outbound } from '../adapter/outbound.js';
import type { UdpAssociation } from '../adapter/udp.js';

const UNROUTED: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

function rejected(): SgError {
  return new SgError(ErrorCode.REJECTED, 'rejected by a route rule');
}

/** `action: reject`: nothing is dialed; a TCP client is reset at once, UDP is dropped (and counted). */
export const rejectOutbound: Outbound = Object.freeze({
  name: 'reject',
  server: UNROUTED,
  dial: (): Promise<Socket> => Promise.reject(rejected()),
  // Thrown before any dial, so the native path resets the client at once too.
  plan: (): DialPlan | undefined => {
    throw rejected();
  },
  associate: (): Promise<UdpAssociation> => Promise.reject(rejected()),
});
