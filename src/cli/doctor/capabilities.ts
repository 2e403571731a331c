import fs from 'node:fs';
import type { Config } from '../../config/load.js';
import { dnsListenOf } from '../../firewall/from-config.js';
import { finding, type Finding } from './report.js';

const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_RAW = 13;
const CAP_NET_ADMIN = 12;

function capEff(pid: string): bigint | undefined {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return hex === undefined ? undefined : BigInt(`0x${hex}`);
  } catch {
    return undefined;
  }
}

const has = (caps: bigint, bit: number) => (caps >> BigInt(bit)) & 1n ? true : false;

/** A `socksgate run` in this network namespace, if one is running (its pid). */
function findDaemon(): string | undefined {
  const ownNet = safeReadlink('/proc/self/ns/net');
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const runs = argv.includes('run') && argv.some((a) => /(^|\/)(socksgate|main\.js)$/.test(a));
    if (runs && safeReadlink(`/proc/${pid}/ns/net`) === ownNet) return pid;
  }
  return undefined;
}

function safeReadlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** What the daemon needs from the kernel's point of view, against what it has (or would have). */
export function capabilityFindings(config: Config): Finding[] {
  const daemon = findDaemon();
  const whose = daemon ? `the running daemon (pid ${daemon})` : 'this user (no running daemon found here)';
  const caps = capEff(daemon ?? 'self') ?? 0n;
  const needs: string[] = [];
  const lacks: string[] = [];
  if (config.mark > 0 || config.tproxy.length) {
    needs.push('CAP_NET_ADMIN (SO_MARK, transparent sockets)');
    if (!has(caps, CAP_NET_ADMIN) && !has(caps, CAP_NET_RAW)) lacks.push('CAP_NET_ADMIN');
  }
  const dns = dnsListenOf(config);
  const lowPorts = [...config.redirect, ...config.tproxy, ...(dns ? [dns] : [])].some((a) => a.port < 1024);
  if (lowPorts) {
    needs.push('CAP_NET_BIND_SERVICE (a port below 1024)');
    if (!has(caps, CAP_NET_BIND_SERVICE)) lacks.push('CAP_NET_BIND_SERVICE');
  }
  if (lacks.length) return [finding('FAIL', 'capabilities', `${whose} lacks ${lacks.join(' and ')}: add AmbientCapabilities=${lacks.join(' ')} (see systemd/socksgate.service)`)];
  if (!needs.length) return [finding('ok', 'capabilities', `${whose}: none needed by this config`)];
  return [finding('ok', 'capabilities', `${whose} has what this config needs: ${needs.join(', ')}`)];
}
