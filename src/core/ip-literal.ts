/**
 * IP literals as node:net's isIP, isIPv4 and isIPv6 read them (same answers, a unit test holds
 * them to Node's), without their regular expressions: V8 compiles Node's IPv6 one at its first use,
 * ~20 ms of CPU, and importing node:net for them loads it and the streams under it at start-up.
 */

/** A decimal 0–255 without leading zeros. */
function isOctet(text: string): boolean {
  if (text.length === 0 || text.length > 3 || (text.length > 1 && text[0] === '0')) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(text) <= 255;
}

/** One to four hex digits. */
function isHexGroup(text: string): boolean {
  if (text.length === 0 || text.length > 4) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 0x20; // ASCII letters to lower case; digits keep their codes
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Characters Node accepts in a zone index after '%': letters, digits, '-', '.', ':'. */
function isZone(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && c !== 45 && c !== 46 && c !== 58) return false;
  }
  return true;
}

export function isIPv4(text: string): boolean {
  const parts = String(text).split('.');
  return parts.length === 4 && parts.every(isOctet);
}

/** How many 16-bit groups `parts` fill (an IPv4 tail fills two), or -1 if one is not a group. */
function groupCount(parts: string[]): number {
  let groups = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i === parts.length - 1 && parts[i]!.includes('.')) {
      if (!isIPv4(parts[i]!)) return -1;
      groups += 2;
    } else if (isHexGroup(parts[i]!)) {
      groups += 1;
    } else {
      return -1;
    }
  }
  return groups;
}

export function isIPv6(text: string): boolean {
  let address = String(text);
  const percent = address.indexOf('%');
  if (percent >= 0) {
    if (!isZone(address.slice(percent + 1))) return false;
    address = address.slice(0, percent);
  }
  const gap = address.indexOf('::');
  if (gap < 0) return groupCount(address.split(':')) === 8;
  const head = address.slice(0, gap);
  const tail = address.slice(gap + 2);
  // Only the tail may end in IPv4; '::' stands for at least one group.
  const headGroups = head === '' ? 0 : head.includes('.') ? -1 : groupCount(head.split(':'));
  const tailGroups = tail === '' ? 0 : groupCount(tail.split(':'));
  return headGroups >= 0 && tailGroups >= 0 && headGroups + tailGroups <= 7;
}

/** 4, 6 or 0, as node:net's isIP. */
export function isIP(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return 0;
}
