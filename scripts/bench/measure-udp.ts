/**
 * Figure 5a, UDP: a UDP echo through Dante's UDP ASSOCIATE, from udp-echo-load.mjs in the client
 * namespace to a UDP echo server in the internet namespace (test/e2e's startUdpEcho, one socket on
 * 198.51.100.2:UDP_ECHO_PORT): echoes per second with 64 datagrams of 512 B outstanding, the
 * round trip of one datagram at a time (median, p99), and the socksifier's CPU seconds per 100,000 echoes
 * (each echo crosses it twice: the request out, the reply back). The socksifiers get the
 * datagrams by TPROXY (socksifiers.ts with `udp`); direct goes through the proxy namespace's IP
 * forwarding. As for new connections (measure-cps.ts), WARM_UP_S of the same load comes first,
 * unmeasured, for every socksifier: the measured runs see steady state (socksgate's JIT has compiled
 * its UDP path, its start-up is behind it), and each still opens a new association of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_ADDR, startUdpEcho, type Lab } from '../../test/e2e/lab.js';
import { UDP_ECHO_PORT } from './bench-lab.js';
import type { Running } from './socksifiers.js';
import { median, processTree, runJsonClient, withCpu } from './util.js';

const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'udp-echo-load.mjs');
export const UDP_WINDOW = 64;
export const UDP_SIZE = 512;

/** udp-echo-load.mjs --mode rate output. */
export interface UdpRate {
  seconds: number;
  echoes: number;
  perSecond: number;
  sent: number;
  lost: number;
  late: number;
  /** The first ping-pong, retried up to 5 × 1 s: the socksifier sets up its UDP association. */
  setupMs: number;
}

/** udp-echo-load.mjs --mode rtt output. */
export interface UdpRtt {
  count: number;
  ok: number;
  lost: number;
  medianMs: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  minMs: number | null;
  setupMs: number;
}

export interface UdpSample {
  rate: UdpRate;
  rtt: UdpRtt;
  /** The socksifier's CPU during the rate run (NaN for direct). */
  cpuS: number;
  cpuPer100k: number;
  machineBusy: number;
  /**
   * The socksifier's CPU (all threads) during the round-trip run per ping-pong, µs, the set-up of
   * the run's new association included (NaN for direct).
   */
  cpuPerRoundTripUs: number;
}

/** The echo server: one socket on the internet namespace's address, answering from it. */
export async function startBenchUdpEcho(lab: Lab): Promise<void> {
  await startUdpEcho(lab, { ports: [UDP_ECHO_PORT], hosts: [LAB_ADDR.internet] });
}

function load<T>(lab: Lab, args: string[], deadlineMs: number): Promise<T> {
  const target = ['--host', LAB_ADDR.internet, '--port', String(UDP_ECHO_PORT), '--size', String(UDP_SIZE), '--deadline-ms', String(deadlineMs)];
  return runJsonClient<T>(lab, CLIENT, [...target, ...args], deadlineMs + 5_000);
}

/** Unmeasured load before the measured runs (see the header). */
const WARM_UP_S = 1;

/** An unmeasured warm-up, then one rate run (its CPU measured) and one round-trip run, each from a fresh client socket (a new association). */
export async function runUdp(lab: Lab, running: Running, seconds: number, pings: number): Promise<UdpSample> {
  await load<UdpRate>(lab, ['--mode', 'rate', '--seconds', String(WARM_UP_S), '--window', String(UDP_WINDOW)], (WARM_UP_S + 15) * 1000);
  const { result: rate, cpuS, machineBusy } = await withCpu(running.pid, () =>
    load<UdpRate>(lab, ['--mode', 'rate', '--seconds', String(seconds), '--window', String(UDP_WINDOW)], (seconds + 15) * 1000),
  );
  if (rate.echoes === 0) throw new Error(`udp rate (${running.id}): no echoes in ${seconds} s`);
  const before = running.pid === null ? NaN : runtimeNs(running.pid);
  const rtt = await runUdpRtt(lab, pings);
  const rttCpuNs = running.pid === null ? NaN : runtimeNs(running.pid) - before;
  return { rate, rtt, cpuS, cpuPer100k: cpuS / (rate.echoes / 100_000), machineBusy, cpuPerRoundTripUs: rttCpuNs / (rtt.ok + 1) / 1000 };
}

/**
 * Nanoseconds on a CPU of all threads of a process and its descendants (/proc/PID/task/TID/schedstat):
 * exact where utime + stime count clock ticks, and a round trip costs far less than one.
 */
function runtimeNs(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + readdirSync(`/proc/${p}/task`).reduce((s, tid) => s + Number(readFileSync(`/proc/${p}/task/${tid}/schedstat`, 'utf8').split(' ')[0]), 0);
    } catch {
      return sum; // gone meanwhile
    }
  }, 0);
}

/** `pings` sequential ping-pongs from a fresh client socket (a new association). */
export function runUdpRtt(lab: Lab, pings: number): Promise<UdpRtt> {
  // 1 s timeout per lost ping: the deadline allows a few hundred of them
  return load<UdpRtt>(lab, ['--mode', 'rtt', '--count', String(pings)], 120_000);
}

export function udpNote(seconds: number, pings: number, runs: number, samples: UdpSample[]): string {
  const busy = median(samples.map((s) => s.machineBusy));
  return (
    `UDP (figure 5a): udp-echo-load.mjs in the client namespace, one connect()ed UDP socket to a Node UDP echo server on ${LAB_ADDR.internet}:${UDP_ECHO_PORT} (internet namespace), through Dante's UDP ASSOCIATE. ` +
    `A ${WARM_UP_S} s rate run comes first, unmeasured, for every socksifier (steady state, as for new connections). Datagrams/s = echoes received per second with ${UDP_WINDOW} datagrams of ${UDP_SIZE} B outstanding for ${seconds} s (one unanswered after 500 ms counts as lost and is replaced); ` +
    `round trip = median and 99th percentile of ${pings} sequential ping-pongs (1 s timeout each); CPU s per 100,000 datagrams = the socksifier's CPU during the rate run per 100,000 echoes (each crosses it twice). ` +
    `Each run first waits for one echo, so setting up the association (a TCP connection and UDP ASSOCIATE at Dante) is not measured (it is in the details). ` +
    `The socksifiers get the datagrams by TPROXY in the client namespace (mangle OUTPUT mark + PREROUTING TPROXY to 127.0.0.1, the KERNEL.md recipe): socksgate --tproxy and hev-socks5-tproxy (udp: 'udp', i.e. UDP ASSOCIATE), excluded by SO_MARK; ` +
    `ipt2socks -U and redsocks 0.5's redudp (the "redsocks" column; splice plays no part in UDP), excluded by uid, started by setpriv as user redsocks with ambient CAP_NET_ADMIN + CAP_NET_BIND_SERVICE: both set IP_TRANSPARENT on their listener and on their reply sockets (one per destination) after dropping root (redudp with \`user = redsocks\` exits at start with EPERM; ipt2socks' -u re-executes itself and loses the capability). ` +
    `The client, the echo server, Dante and the socksifier share the ${os.cpus().length} cores, ${(busy * 100).toFixed(0)} % busy (median) during the rate runs: datagrams/s measure the whole chain (direct: the two Node endpoints), so compare CPU s per 100,000 datagrams. ${runs} run(s), a fresh socksifier each.`
  );
}
