/**
 * A cap on connections still in their handshake: a client that opens connections and sends
 * nothing (or trickles bytes) holds at most this many, each for at most the handshake timeout.
 */
export class HandshakeSlots {
  private used = 0;

  /** Changed by a reload; slots already taken above a lowered cap are kept until released. */
  constructor(public max: number) {}

  /** Takes a slot; false when all are taken (the connection is to be closed at once). */
  take(): boolean {
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  release(): void {
    this.used--;
  }

  get inUse(): number {
    return this.used;
  }
}
