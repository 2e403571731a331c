import type { IpFamily } from '../core/cidr.js';

/** Never diverted: they never leave this host (or this link), so no proxy can carry them. */
export const ALWAYS_BYPASS: Readonly<Record<IpFamily, readonly string[]>> = {
  ipv4: ['127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32'],
  ipv6: ['::1/128', 'fe80::/10', 'ff00::/8'],
};

/**
 * Bypassed unless `rules.bypass_reserved: false`: private networks a proxy out on the internet
 * cannot reach. The documentation ranges are left out on purpose: nothing real uses them, and
 * test labs do.
 */
export const RESERVED_BYPASS: Readonly<Record<IpFamily, readonly string[]>> = {
  ipv4: ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '240.0.0.0/4'],
  ipv6: ['::/128', 'fc00::/7'],
};
