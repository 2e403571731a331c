/**
 * e2e lab: three network namespaces joined by veth pairs, plus starters for the real servers the
 * e2e tests talk to (nginx, echo, Dante, microsocks, ssh -D, tinyproxy), and what a process holds
 * (fds, memory) read from /proc.
 *
 *   client (192.0.2.2) ⇄ proxy (192.0.2.1 | 198.51.100.1) ⇄ internet (198.51.100.2, lo: 203.0.113.10)
 *          2001:db8:1::2   2001:db8:1::1 | 2001:db8:2::1     2001:db8:2::2,  lo: 2001:db8:3::10
 *
 * - The client has routes to 198.51.100.0/24, 203.0.113.0/24 (and 2001:db8:2::/64, 2001:db8:3::/64)
 *   via the proxy, so an unmodified app's connect() has a route and the kernel can divert it.
 * - The proxy namespace does NOT forward (ip_forward=0, ipv6 forwarding=0) and the internet has no
 *   route back to 192.0.2.0/24: only traffic relayed by a proxy running in the proxy namespace
 *   (source 198.51.100.1) reaches the internet.
 * - Nothing touches the root namespace: veth pairs are created inside the namespaces, no rules or
 *   routes are added outside them. Names are `sg-<6 random chars>-{c,p,i}`.
 * - `ip netns exec` bind-mounts /etc/netns/<ns>/{resolv.conf,hosts} over /etc: each namespace gets
 *   its own (see LAB_HOSTS); the proxy and internet namespaces resolve the lab names, the client
 *   does not (its DNS must go through socksgate).
 * - Every spawned process runs in its own process group and is killed on destroy(); anything left
 *   in the namespaces (`ip netns pids`) is SIGKILLed before they are deleted. A process 'exit' /
 *   signal handler cleans up labs a crashing test left behind, and createLab() sweeps labs whose
 *   owner process died (SIGKILL) — identified by /tmp/sglab-<id>/owner.
 *
 * Needs root and the Debian packages of scripts/test-deps. The code is in test/e2e/lab/ (the lab and
 * its network, processes, server starters in servers/, client helpers); this file re-exports it.
 */
export { BIG_SIZE, LAB_ADDR, LAB_HOSTS, LAB_IFACE, SMALL_TXT, TEST_PASS, TEST_USER, type LabAddrs } from './lab/constants.js';
export type { CreateLabOptions, ExecOptions, ExecResult, Lab, LabProcess, LabSpawnOptions, NsRef, NsRole } from './lab/types.js';
export { sweepStaleLabs } from './lab/namespaces.js';
export { createLab, useLab } from './lab/create.js';
export { startNginx, type NginxHandle } from './lab/servers/nginx.js';
export { startEcho, type EchoHandle } from './lab/servers/echo.js';
export type { SocksHandle } from './lab/servers/started.js';
export { signalDante, startDante, type DanteOptions } from './lab/servers/dante.js';
export { startMicrosocks } from './lab/servers/microsocks.js';
export { startV2ray } from './lab/servers/v2ray.js';
export { startSshSocks } from './lab/servers/ssh-socks.js';
export { startTinyproxy } from './lab/servers/tinyproxy.js';
export { startDnsmasq, type DnsmasqHandle } from './lab/servers/dnsmasq.js';
export { startUdpEcho, type UdpEchoHandle } from './lab/servers/udp-echo.js';
export { startFaultTarget, type FaultTargetHandle, type TargetEvent } from './lab/servers/fault-target.js';
export { curl, sha256File, waitForLog, type CurlResult } from './lab/client.js';
export { FULL_SUITE, suiteSize } from './lab/suite-size.js';
export { fdCounts, limitLeaving, maxBetween, pollFds, rssKiB, sample, settledFdCounts, valueAt, type FdCounts, type Sample } from './lab/proc-stats.js';
