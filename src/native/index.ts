/**
 * Typed facade over the native addon (src/native/addon.c): the few socket calls Node cannot make.
 * The addon returns fds and raw sockaddr bytes; this module parses them (codec/sockaddr) and hands
 * fds to Node (`server.listen({ fd })`, `new Socket({ fd })`).
 *
 * Addon failures are Errors with `code` (errno name, e.g. 'EPERM'), `errno` and `syscall`
 * (e.g. 'setsockopt(SO_MARK)'); they pass through unchanged.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createRequire } from 'node:module';
import { Socket, type Server, type SocketConstructorOpts } from 'node:net';
import { ErrorCode } from '../core/errors.js';
import type { SocksAddr } from '../core/addr.js';
import { isIP } from '../core/ip-literal.js';
import { decodeSockaddr, encodeSockaddr } from '../codec/sockaddr.js';

/** An Error from a failed syscall, in the addon or in Node. */
export interface SyscallError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isSyscallError(err: unknown): err is SyscallError {
  return (
    err instanceof Error &&
    typeof (err as Partial<SyscallError>).code === 'string' &&
    typeof (err as Partial<SyscallError>).errno === 'number' &&
    typeof (err as Partial<SyscallError>).syscall === 'string'
  );
}

/** The addon's exports, one to one (see the table at the top of addon.c). */
export interface NativeBinding {
  originalDst(fd: number, ipv6: boolean): Buffer;
  tcpListen(sockaddr: Buffer, opts: { transparent?: boolean; reusePort?: boolean; backlog?: number; v6only?: boolean }): number;
  tcpSocket(family: 4 | 6, mark: number): number;
  tcpConnect(sockaddr: Buffer, mark: number): number;
  closeFd(fd: number): void;
  raiseNofile(): { soft: number; hard: number };
  udpSocket(sockaddr: Buffer, opts: { transparent?: boolean; reuseAddr?: boolean; mark?: number }): number;
  udpListen(sockaddr: Buffer, opts: { headroom?: number; v6only?: boolean; reusePort?: boolean; fast?: object }, cb: (err: Error | null, payloads?: Buffer[], addrs?: Buffer) => void): object;
  udpListenClose(handle: object): void;
  udpSend(fd: number, data: Buffer): number;
  udpSendTo(fd: number, data: Buffer, host: string, port: number): number;
  reduceHeap(): void;
  trimMalloc(): void;
}

// Relative to this module: a chunk of the bundle in dist/ sits one level below the package root,
// src/native/index.ts (tests run the sources) two levels.
function requireAddon(): NativeBinding {
  const require = createRequire(import.meta.url);
  try {
    return require('../build/Release/socksgate_native.node') as NativeBinding;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    return require('../../build/Release/socksgate_native.node') as NativeBinding;
  }
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use so that importing this module never fails by itself. */
export function nativeBinding(): NativeBinding {
  if (loaded) return loaded;
  try {
    loaded = requireAddon();
  } catch (cause) {
    const err = new Error(
      'socksgate native addon is not built (build/Release/socksgate_native.node): run `npm rebuild` or `npx node-gyp rebuild --nodedir=/usr`',
      { cause },
    );
    throw Object.assign(err, { code: ErrorCode.NATIVE_MISSING });
  }
  return loaded;
}

function invalidArg(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_VALUE' });
}

/** The kernel fd under a connected socket or listening server (Node keeps it on the private `_handle`). */
export function socketFd(socket: Socket | Server): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw Object.assign(new Error('socket has no file descriptor (closed, not yet connected, or not a TCP socket)'), {
      code: ErrorCode.NO_FD,
    });
  }
  return fd;
}

const V4_MAPPED = /^::ffff:\d+\.\d+\.\d+\.\d+$/i;

/**
 * Where an accepted connection was going before iptables/nft REDIRECT (or DNAT) rewrote it, from
 * conntrack via SO_ORIGINAL_DST. IPv4 flows, including v4-mapped ones on a dual-stack `[::]`
 * listener, use the IPv4 call; native IPv6 flows the IPv6 one. Throws the addon's Error, typically
 * `code: 'ENOENT'` when the connection was not NATed (or conntrack is not active in the namespace).
 */
export function originalDestination(socket: Socket): SocksAddr {
  const fd = socketFd(socket);
  // The peer's address has the same family as ours (v4-mapped on both ends or on neither) and Node
  // caches it (the inbound has read it already), which spares a getsockname per connection.
  const local = socket.remoteAddress ?? socket.localAddress;
  if (local === undefined) throw Object.assign(new Error('socket has no local address'), { code: ErrorCode.NO_FD });
  const ipv6 = local.includes(':') && !V4_MAPPED.test(local); // a host string Node made: no validation needed
  return decodeSockaddr(nativeBinding().originalDst(fd, ipv6));
}

export interface ListenTcpOptions {
  /** IP_TRANSPARENT (and IPV6_TRANSPARENT on IPv6): accept connections to any address (TPROXY). */
  readonly transparent?: boolean;
  readonly reusePort?: boolean;
  readonly backlog?: number;
  /** IPV6_V6ONLY for an IPv6 address; default false, so `[::]` serves IPv4 too. */
  readonly v6only?: boolean;
}

/**
 * A listening TCP socket on `addr` (an IP literal) built by the addon, so it can carry options Node
 * cannot set (SO_REUSEPORT, IP_TRANSPARENT, TCP_NODELAY inherited by accepted sockets). Throws the
 * addon's Error (EADDRINUSE, EPERM, …).
 */
export function listenTcpFd(addr: SocksAddr, opts: ListenTcpOptions = {}): number {
  if (addr.kind === 'domain') throw invalidArg(`listen address must be an IP literal, got "${addr.host}"`);
  return nativeBinding().tcpListen(encodeSockaddr(addr), {
    transparent: opts.transparent ?? false,
    reusePort: opts.reusePort ?? false,
    backlog: opts.backlog ?? 511,
    v6only: opts.v6only ?? false,
  });
}

/** Makes `server` listen on a listenTcpFd socket. Resolves on 'listening'; rejects with the addon's or Node's error. */
export function listenTcp(server: Server, addr: SocksAddr, opts: ListenTcpOptions = {}): Promise<void> {
  if (server.listening) {
    return Promise.reject(Object.assign(new Error('server is already listening'), { code: 'ERR_SERVER_ALREADY_LISTEN' }));
  }
  const backlog = opts.backlog ?? 511;
  let fd: number;
  try {
    fd = listenTcpFd(addr, { ...opts, backlog });
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    try {
      // Node calls listen(2) again with this backlog: keep the two the same.
      server.listen({ fd, backlog });
    } catch (err) {
      // Thrown before Node adopted the fd (argument validation): it is still ours to close.
      server.off('error', onError);
      server.off('listening', onListening);
      nativeBinding().closeFd(fd);
      reject(err);
    }
    // An asynchronous 'error' comes after Node took the fd; Node closes it with its handle.
  });
}

export interface DialOptions {
  readonly allowHalfOpen?: boolean;
}

/**
 * Like `net.connect({ host, port })` to an IP literal, but the socket carries SO_MARK `mark` from
 * before its SYN (mark 0: no mark). Emits 'connect' once connected, 'error' (ECONNREFUSED,
 * ETIMEDOUT, EHOSTUNREACH, … with syscall 'connect') on failure; writes before 'connect' are
 * queued and sent after it; `setTimeout` works as usual. Throws synchronously only for bad
 * arguments or when the addon cannot create the socket (EPERM without CAP_NET_ADMIN/CAP_NET_RAW).
 *
 * How: the addon makes an unconnected nonblocking socket with SO_MARK; Node adopts it with
 * `new Socket({ fd })` and `socket.connect()` runs uv_tcp_connect on that same fd, so Node
 * drives the whole connect exactly as for its own sockets.
 */
export function dialMarked(addr: { host: string; port: number }, mark: number, opts: DialOptions = {}): Socket {
  const family = isIP(addr.host);
  if (family !== 4 && family !== 6) throw invalidArg(`dialMarked needs an IP literal, got "${addr.host}"`);
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) {
    throw Object.assign(new RangeError(`port must be 1-65535, got ${String(addr.port)}`), { code: 'ERR_SOCKET_BAD_PORT' });
  }
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) {
    throw Object.assign(new RangeError(`mark must be an integer 0-0xffffffff, got ${String(mark)}`), { code: 'ERR_OUT_OF_RANGE' });
  }
  const fd = nativeBinding().tcpSocket(family, mark);
  let socket: Socket;
  try {
    // `manualStart` (an internal option child_process uses) stops the constructor's read(0): on a
    // socket that is not connected yet, epoll reports HUP and the read fails with ENOTCONN. Node
    // starts reading itself after 'connect'. Calling connect() in this same tick (before the event
    // loop polls) guards against that too, should a future Node ignore the option.
    socket = new Socket({ fd, allowHalfOpen: opts.allowHalfOpen ?? false, manualStart: true } as SocketConstructorOpts);
  } catch (err) {
    nativeBinding().closeFd(fd);
    throw err;
  }
  try {
    socket.connect({ host: addr.host, port: addr.port });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}

/**
 * Raises the RLIMIT_NOFILE soft limit to the hard limit (a relay needs ≥ 2 fds per connection)
 * and returns the resulting soft limit.
 */
export function raiseFileLimit(): number {
  return nativeBinding().raiseNofile().soft;
}

/**
 * A memory-reducing V8 collection (it compacts and unmaps the pages a plain gc() keeps), then
 * malloc_trim once the addon objects it collected have been freed: Node runs Node-API
 * finalizers in an immediate, and until then they pin the pages trim would return.
 */
export function releaseMemory(): void {
  const binding = nativeBinding();
  binding.reduceHeap();
  setImmediate(() => binding.trimMalloc());
}

export interface UdpSocketOptions {
  /** IP_TRANSPARENT (+ IPV6_TRANSPARENT): bind to a foreign address, e.g. to reply as a remote host. */
  readonly transparent?: boolean;
  readonly reuseAddr?: boolean;
  /** SO_MARK (0: none). */
  readonly mark?: number;
}

/**
 * A dgram socket bound to `addr` (an IP literal) through a socket built by the addon, so it can
 * carry options Node cannot set. Bound and usable when this returns; throws the addon's Error
 * (EPERM without CAP_NET_ADMIN/CAP_NET_RAW, EADDRINUSE, ...).
 */
/** The fds of the sockets openUdpSocket made, for sendDatagram. */
const udpFds = new WeakMap<UdpSocket, number>();

/**
 * Sends one datagram on a socket from openUdpSocket, synchronously in the addon (no per-datagram
 * send request, callback or lookup as dgram's send makes; see udp-send.c), to `to` (an IP literal)
 * or to the peer it is connected to. False when it was not sent (a full socket buffer, no route:
 * the datagram is lost, as UDP allows); undefined for a socket openUdpSocket did not make (the
 * caller sends it with dgram).
 */
export function trySendDatagram(socket: UdpSocket, data: Buffer, to?: SocksAddr): boolean | undefined {
  const fd = udpFds.get(socket);
  if (fd === undefined) return undefined;
  return (to === undefined ? nativeBinding().udpSend(fd, data) : nativeBinding().udpSendTo(fd, data, to.host, to.port)) === 0;
}

/** The fd under a socket from openUdpSocket (undefined for any other), for the addon's fast path. */
export function udpSocketFd(socket: UdpSocket): number | undefined {
  return udpFds.get(socket);
}

export function openUdpSocket(addr: SocksAddr, opts: UdpSocketOptions = {}): UdpSocket {
  if (addr.kind === 'domain') throw invalidArg(`UDP bind address must be an IP literal, got "${addr.host}"`);
  const fd = nativeBinding().udpSocket(encodeSockaddr(addr), {
    transparent: opts.transparent ?? false,
    reuseAddr: opts.reuseAddr ?? false,
    mark: opts.mark ?? 0,
  });
  const socket = createSocket(addr.kind === 'ipv4' ? 'udp4' : 'udp6');
  try {
    // Node adopts the fd synchronously (uv_udp_open) and is bound from here on.
    socket.bind({ fd });
  } catch (err) {
    nativeBinding().closeFd(fd);
    throw err;
  }
  udpFds.set(socket, fd);
  return socket;
}

/** One datagram from the transparent listener: `data` holds `headroom` spare bytes, then the payload. */
export interface TransparentDatagram {
  readonly data: Buffer;
  readonly src: SocksAddr;
  /** The original destination; undefined when the kernel gave none (not diverted by TPROXY). */
  readonly dst: SocksAddr | undefined;
}

export interface UdpListener {
  close(): void;
}

const ADDR_SLOT = 28;

/** The addon's per-datagram address pair: client sockaddr, original destination (family 0: none). */
function decodePair(addrs: Buffer, index: number): { src: SocksAddr; dst: SocksAddr | undefined } {
  const pair = addrs.subarray(index * 2 * ADDR_SLOT, (index + 1) * 2 * ADDR_SLOT);
  const dstRaw = pair.subarray(ADDR_SLOT);
  const hasDst = dstRaw.readUInt16LE(0) !== 0;
  return { src: decodeSockaddr(pair.subarray(0, ADDR_SLOT)), dst: hasDst ? decodeSockaddr(dstRaw) : undefined };
}

/**
 * A transparent UDP socket (TPROXY) on `addr`, read in batches by the addon. `[::]` serves IPv4 and
 * IPv6. `onError` gets read errors (polling goes on). Throws the addon's Error when it cannot listen.
 * With `fast` (a UdpFastPath), datagrams of the pairs established there never reach onBatch.
 */
export function listenUdpTransparent(
  addr: SocksAddr,
  opts: { headroom: number; v6only?: boolean; reusePort?: boolean; fast?: { readonly table: object } },
  onBatch: (datagrams: TransparentDatagram[]) => void,
  onError: (err: Error) => void,
): UdpListener {
  if (addr.kind === 'domain') throw invalidArg(`listen address must be an IP literal, got "${addr.host}"`);
  const binding = nativeBinding();
  const handle = binding.udpListen(encodeSockaddr(addr), { headroom: opts.headroom, v6only: opts.v6only ?? false, reusePort: opts.reusePort ?? false, fast: opts.fast?.table }, (err, payloads, addrs) => {
    if (err || !payloads || !addrs) return onError(err ?? new Error('udpListen: empty batch'));
    onBatch(payloads.map((data, i) => ({ data, ...decodePair(addrs, i) })));
  });
  return { close: () => binding.udpListenClose(handle) }; // idempotent in the addon
}
