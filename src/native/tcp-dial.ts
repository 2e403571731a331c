import { decodeSockaddr, encodeSockaddr } from '../codec/sockaddr.js';
import type { SocksAddr } from '../core/addr.js';
import { nativeBinding } from './index.js';
import { ownedRelay, type SpliceOwner } from './splice.js';

/** How a native dial failed; mirrors the DIAL_* values in tcp-dial.c. */
export const DialFailure = { CONNECT_FAILED: 1, CONNECT_TIMEOUT: 2, HANDSHAKE_TIMEOUT: 3, EOF: 4, SOCKET_ERROR: 5 } as const;
const DIAL_DATA = 0;
/** The client fd of a dial of the daemon's own (a pipelining probe): nothing to reset, nothing to splice to. */
export const NO_CLIENT = -1;

interface DialBinding {
  tcpDial(clientFd: number, server: Buffer, mark: number, opening: Buffer, connectTimeoutMs: number, handshakeTimeoutMs: number, onEvent: (kind: number, value: number) => void, keepClient: boolean): object;
  /** Where the addon puts a dial's received bytes for onData: one buffer, not a new one per event. */
  readonly tcpDialReceived: Buffer;
  tcpDialSend(handle: object, bytes: Buffer): void;
  tcpDialSplice(handle: object, consumed: number, headUp: Buffer | undefined, idleMs: number, earlyCloseMs: number, earlyCloseMaxUp: number, token: number): number;
  tcpDialBound(handle: object): Buffer;
  tcpDialAbort(handle: object, keepClient: boolean): void;
}

export interface NativeDialEvents {
  /**
   * Every byte the server sent so far; call send, splice or abort from here, or nothing to wait for
   * more. With an empty opening it is first called with no bytes once connected. The buffer is shared by every dial and valid only during the call: copy what must outlive it.
   * Throwing aborts the dial (unless it spliced) and makes the error an uncaught exception.
   */
  onData(received: Buffer): void;
  /** The dial failed (a DialFailure and an errno, 0 for EOF); the client has been reset, unless keepClient. */
  onFailure(failure: number, errno: number): void;
}

export interface NativeDialOptions {
  readonly server: SocksAddr;
  readonly mark: number;
  readonly opening: Buffer;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** A failure before the relay leaves the client open: the caller dials again on it or resets it. */
  readonly keepClient?: boolean;
}

/**
 * Proxy addresses as the addon takes them, encoded once: the plans of one outbound share its
 * SocksAddr, frozen with the config. A flow's own destination (a direct dial) is encoded each time:
 * remembering it would cost more than encoding it.
 */
const sockaddrs = new WeakMap<SocksAddr, Buffer>();

function sockaddrOf(addr: SocksAddr): Buffer {
  if (!Object.isFrozen(addr)) return encodeSockaddr(addr);
  let sockaddr = sockaddrs.get(addr);
  if (!sockaddr) sockaddrs.set(addr, (sockaddr = encodeSockaddr(addr)));
  return sockaddr;
}

/** A dial in the addon (tcp-dial.c); the client fd is its own from the start (with keepClient, until a failure). */
export class NativeDial {
  private readonly binding = nativeBinding() as unknown as DialBinding;
  private readonly handle: object;

  /** Throws the addon's Error when it cannot create the socket; the client fd is then still the caller's. */
  constructor(clientFd: number, opts: NativeDialOptions, events: NativeDialEvents) {
    const received = this.binding.tcpDialReceived;
    this.handle = this.binding.tcpDial(clientFd, sockaddrOf(opts.server), opts.mark, opts.opening, opts.connectTimeoutMs, opts.handshakeTimeoutMs, (kind, value) => {
      if (kind === DIAL_DATA) events.onData(received.subarray(0, value));
      else events.onFailure(kind, value);
    }, opts.keepClient === true);
  }

  send(bytes: Buffer): void {
    this.binding.tcpDialSend(this.handle, bytes);
  }

  /**
   * Ends the handshake: the splice relay carries both sides, bytes past `consumed` go to the client
   * first, and `headUp` (bytes the client sent early) to the upstream first; `owner` hears the end.
   * Returns the relay's handle for stopSplice.
   */
  splice(consumed: number, headUp: Buffer | undefined, idleMs: number, earlyClose: { withinMs: number; maxBytesUp: number }, owner: SpliceOwner): number {
    return ownedRelay(owner, (token) => this.binding.tcpDialSplice(this.handle, consumed, headUp, idleMs, earlyClose.withinMs, earlyClose.maxBytesUp, token));
  }

  /** The upstream connection's local address (what a proxy client's reply names); while connected, before splice. */
  bound(): SocksAddr {
    return decodeSockaddr(this.binding.tcpDialBound(this.handle));
  }

  /** Closes the upstream and resets the client (keepClient: leaves it open for the caller); no event follows. */
  abort(keepClient = false): void {
    this.binding.tcpDialAbort(this.handle, keepClient);
  }
}
