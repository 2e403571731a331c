import type { SocksAddr } from '../core/addr.js';
import { decodeSockaddr } from '../codec/sockaddr.js';
import { nativeBinding, type NativeBinding } from './index.js';
import { errnoError } from './errno-error.js';

interface AcceptBinding extends Pick<NativeBinding, 'closeFd'> {
  tcpAccept(listenFd: number, destination: 0 | 1 | 2, scratch: Buffer, onAccept: (fd: number, err: number) => void): object;
  tcpAcceptClose(handle: object): void;
}

/** Where an accepted connection was headed: before REDIRECT/DNAT, or the local address (TPROXY). */
export type DestinationSource = 'original' | 'local';

/** One accepted connection, still a raw fd. `dst` is an Error when the kernel has no destination. */
export interface AcceptedFd {
  readonly fd: number;
  readonly src: SocksAddr;
  readonly dst: SocksAddr | Error;
}

export interface TcpAcceptor {
  close(): void;
}

const ADDR_SLOT = 28;

/** The call that could not read a destination, as the addon names it (an IPv4 flow may come v4-mapped: src says which). */
function failedCall(destination: DestinationSource, src: SocksAddr): string {
  if (destination === 'local') return 'getsockname';
  return src.kind === 'ipv6' ? 'getsockopt(IP6T_SO_ORIGINAL_DST)' : 'getsockopt(SO_ORIGINAL_DST)';
}

/**
 * Accepts on `listenFd` (owned from here on) in the addon: no Node socket per connection. A failed
 * accept (EMFILE, …) goes to onError and accepting goes on. onAccept owns the fd once it returns;
 * if it throws, the addon resets the connection and the error is an uncaught exception.
 */
export function acceptTcp(listenFd: number, destination: DestinationSource, onAccept: (conn: AcceptedFd) => void, onError: (err: Error) => void): TcpAcceptor {
  const binding = nativeBinding() as unknown as AcceptBinding;
  const scratch = Buffer.alloc(2 * ADDR_SLOT);
  const handle = binding.tcpAccept(listenFd, destination === 'original' ? 0 : 1, scratch, (fd, err) => {
    if (fd < 0) return onError(errnoError(err, 'accept'));
    let src: SocksAddr;
    let dst: SocksAddr | Error;
    try {
      src = decodeSockaddr(scratch.subarray(0, ADDR_SLOT));
      dst = err === 0 ? decodeSockaddr(scratch.subarray(ADDR_SLOT)) : errnoError(err, failedCall(destination, src));
    } catch (decodeError) {
      // Not an IP socket address (cannot happen on a TCP listener); thrown here it would end the process.
      binding.closeFd(fd);
      return onError(decodeError as Error);
    }
    onAccept({ fd, src, dst });
  });
  return { close: () => binding.tcpAcceptClose(handle) }; // idempotent in the addon
}

/**
 * Accepts on `listenFd` (owned from here on), a listener that is no IP socket (a unix socket): each
 * connection is only an fd, onAccept's once it returns. Errors as for acceptTcp.
 */
export function acceptStream(listenFd: number, onAccept: (fd: number) => void, onError: (err: Error) => void): TcpAcceptor {
  const binding = nativeBinding() as unknown as AcceptBinding;
  const handle = binding.tcpAccept(listenFd, 2, Buffer.alloc(2 * ADDR_SLOT), (fd, err) => (fd < 0 ? onError(errnoError(err, 'accept')) : onAccept(fd)));
  return { close: () => binding.tcpAcceptClose(handle) };
}
