import { nativeBinding } from './index.js';

/** How a client read ended; mirrors the READ_* values in client-read.c. */
export const ClientReadEnd = { EOF: 1, ERROR: 2, TIMEOUT: 3 } as const;
const READ_DATA = 0;

interface ClientReadBinding {
  clientReadInit(onEvent: (fd: number, kind: number, value: number) => void): void;
  clientRead(fd: number, timeoutMs: number): void;
  clientReadStop(fd: number): void;
  /** Where the addon puts each arrival's bytes: one buffer, not a new one per event. */
  readonly clientReadReceived: Buffer;
  clientSend(fd: number, bytes: Buffer): number;
  clientReset(fd: number): void;
}

export interface ClientReadEvents {
  /** The bytes of one arrival, in a buffer shared by every reader and valid only during the call: copy what must outlive it. */
  onData(chunk: Buffer): void;
  /** The reader stopped by itself: the client closed (EOF), failed (ERROR, with an errno) or the deadline passed (TIMEOUT). */
  onEnd(end: number, errno: number): void;
}

/** Who listens to each fd's reader: the addon knows readers by fd, so nothing per client crosses into it but the number. */
const readers: (ClientReadEvents | undefined)[] = [];
let binding: ClientReadBinding | undefined;

function clientBinding(): ClientReadBinding {
  if (binding) return binding;
  const b = nativeBinding() as unknown as ClientReadBinding;
  const received = b.clientReadReceived;
  b.clientReadInit((fd, kind, value) => {
    const events = readers[fd];
    if (!events) return;
    if (kind === READ_DATA) return events.onData(received.subarray(0, value));
    readers[fd] = undefined;
    events.onEnd(kind, value);
  });
  return (binding = b);
}

/**
 * Reads an accepted client fd in the addon (client-read.c) until `clientReadStop`, its end or
 * `timeoutMs` from now: a proxy client's handshake without a Node socket. The fd stays the caller's.
 */
export function clientRead(fd: number, timeoutMs: number, events: ClientReadEvents): void {
  const b = clientBinding();
  b.clientRead(fd, timeoutMs);
  readers[fd] = events;
}

/** No event follows. */
export function clientReadStop(fd: number): void {
  readers[fd] = undefined;
  clientBinding().clientReadStop(fd);
}

/** One nonblocking send; the count of bytes the kernel took, or -errno. */
export function clientSend(fd: number, bytes: Buffer): number {
  return clientBinding().clientSend(fd, bytes);
}

/** Closes the fd with an RST. */
export function clientReset(fd: number): void {
  clientBinding().clientReset(fd);
}
