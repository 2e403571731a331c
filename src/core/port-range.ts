/** A port (`443`, as a number or text) or an inclusive range (`"6881-6889"`) as [low, high]; throws RangeError for anything else. */
export function parsePortRange(entry: number | string): [number, number] {
  const text = String(entry);
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const low = match ? Number(match[1]) : NaN;
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (!(low >= 0 && high <= 65535 && low <= high)) throw new RangeError(`"${text}": expected a port (0-65535) or a range LOW-HIGH`);
  return [low, high];
}
