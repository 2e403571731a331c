import { nativeBinding } from './index.js';

/** How a client read ended; mirrors the READ_* values in client-read.c. */
export const ClientReadEnd = { EOF: 1, ERROR: 2, TIMEOUT: 3 } as const;
const READ_DATA = 0;

interface ClientReadBinding {
  clientRead(fd: number, timeoutMs: number, onEvent: (kind: number, value: number) => void): object;
  clientReadStop(handle: object): void;
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

let binding: ClientReadBinding | undefined;

function clientBinding(): ClientReadBinding {
  return (binding ??= nativeBinding() as unknown as ClientReadBinding);
}

/**
 * Reads an accepted client fd in the addon (client-read.c) until `stop`, its end or `timeoutMs`
 * from now: a proxy client's handshake without a Node socket. The fd stays the caller's.
 */
export class ClientRead {
  private readonly handle: object;

  constructor(fd: number, timeoutMs: number, events: ClientReadEvents) {
    const b = clientBinding();
    const received = b.clientReadReceived;
    this.handle = b.clientRead(fd, timeoutMs, (kind, value) => {
      if (kind === READ_DATA) events.onData(received.subarray(0, value));
      else events.onEnd(kind, value);
    });
  }

  /** No event follows. */
  stop(): void {
    clientBinding().clientReadStop(this.handle);
  }
}

/** One nonblocking send; the count of bytes the kernel took, or -errno. */
export function clientSend(fd: number, bytes: Buffer): number {
  return clientBinding().clientSend(fd, bytes);
}

/** Closes the fd with an RST. */
export function clientReset(fd: number): void {
  clientBinding().clientReset(fd);
}
