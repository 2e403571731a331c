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

export function parsePortRange(entry: number | string): [number, number] {
  const text = String(entry);
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const low = match ? Number(match[1]) : NaN;
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (!(low >= 0 && high <= 65535 && low <= high)) throw new RangeError(`"${text}": expected a port (0-65535) or a range LOW-HIGH`);
  return [low, high];
}
