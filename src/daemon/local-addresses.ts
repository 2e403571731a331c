import { networkInterfaces } from 'node:os';

/** How long the interface list is trusted: addresses come and go (DHCP, SLAAC) but rarely. */
const REFRESH_MS = 10_000;

/** Whether an address is one of this host's (in this network namespace), from a list read at most every 10 s. */
export function localAddressCheck(now: () => number = Date.now): (host: string) => boolean {
  let addresses = new Set<string>();
  let readAt = -Infinity;
  return (host) => {
    if (now() - readAt >= REFRESH_MS) {
      addresses = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
      readAt = now();
    }
    return addresses.has(host);
  };
}
