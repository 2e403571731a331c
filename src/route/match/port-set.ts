import { parsePortRange } from '../../core/port-range.js';

/** Ports and port ranges as a 65,536-bit map: one lookup per flow, 8 KiB per set. */
export class PortSet {
  private readonly bits = new Uint8Array(8192);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** `443`, or `"6881-6889"`; throws RangeError for anything else. */
  add(entry: number | string): void {
    const [low, high] = parsePortRange(entry);
    for (let port = low; port <= high; port++) this.bits[port >> 3] |= 1 << (port & 7);
    this.count++;
  }

  has(port: number): boolean {
    return (this.bits[port >> 3] & (1 << (port & 7))) !== 0;
  }
}
