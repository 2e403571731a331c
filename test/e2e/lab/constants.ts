/** Addresses, names and fixed contents of the e2e lab (see test/e2e/lab.ts for its layout). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAB_ADDR = Object.freeze({
  client: '192.0.2.2',
  proxyClientSide: '192.0.2.1',
  proxyInternetSide: '198.51.100.1',
  internet: '198.51.100.2',
  /** On the internet namespace's lo; routed client → proxy → internet. */
  extraTarget: '203.0.113.10',
  client6: '2001:db8:1::2',
  proxyClientSide6: '2001:db8:1::1',
  proxyInternetSide6: '2001:db8:2::1',
  internet6: '2001:db8:2::2',
  /** On the internet namespace's lo (only with ipv6). */
  extraTarget6: '2001:db8:3::10',
  clientNet: '192.0.2.0/24',
  internetNet: '198.51.100.0/24',
  targetNet: '203.0.113.0/24',
  clientNet6: '2001:db8:1::/64',
  internetNet6: '2001:db8:2::/64',
  targetNet6: '2001:db8:3::/64',
});
export type LabAddrs = typeof LAB_ADDR;

/** Host names the proxy and internet namespaces resolve through their /etc/hosts (not the client). */
export const LAB_HOSTS = Object.freeze({
  web: 'web.lab.test', // 198.51.100.2 (+ 2001:db8:2::2 with ipv6)
  alt: 'alt.lab.test', // 203.0.113.10
  web4: 'web4.lab.test', // 198.51.100.2 only
  web6: 'web6.lab.test', // 2001:db8:2::2 only (ipv6 labs)
});

/** Interface names (per namespace, so they need not be unique across labs). */
export const LAB_IFACE = Object.freeze({
  clientToProxy: 'to-proxy', // in client
  proxyToClient: 'to-client', // in proxy
  proxyToInternet: 'to-inet', // in proxy
  internetToProxy: 'to-proxy', // in internet
});

/** The user scripts/test-deps creates; Dante's username method checks its system password. */
export const TEST_USER = 'sgtest';
export const TEST_PASS = 'sgpass-Lab1';

/** Content of nginx's /small.txt. */
export const SMALL_TXT = 'socksgate lab: small.txt\n';
export const BIG_SIZE = 10 * 1024 * 1024;

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
