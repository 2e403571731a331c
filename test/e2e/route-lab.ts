/**
 * Helpers for the Route e2e tests: a lab where a flow the daemon sends `direct` can reach the
 * internet namespace without a proxy, extra targets there, what a target saw (TCP and UDP), a
 * reset told apart from other failures, and the daemon's log line for one flow.
 */
import { curl, type Lab, type NsRef } from './lab.js';
import { MAIN } from './rules-lab.js';
import { shebangFlags, type Daemon, type LogLine } from './socksgate.js';

/**
 * The lab's proxy namespace forwards nothing and the internet has no route back to the client, so
 * only proxied traffic arrives (test/e2e/lab.ts). Direct flows need a plain router: the proxy
 * namespace forwards, and the internet routes the client's networks back through it. Every packet
 * stays inside the lab's namespaces.
 */
export async function routeClientDirectly(lab: Lab): Promise<void> {
  const A = lab.addr;
  await lab.exec('proxy', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', ...(lab.ipv6 ? ['net.ipv6.conf.all.forwarding=1'] : [])]);
  await lab.exec('internet', 'ip', ['route', 'add', A.clientNet, 'via', A.proxyInternetSide]);
  if (lab.ipv6) await lab.exec('internet', 'ip', ['-6', 'route', 'add', A.clientNet6, 'via', A.proxyInternetSide6]);
}

/**
 * More addresses on the internet namespace's lo, inside the target networks the client already
 * routes through the proxy namespace (203.0.113.0/24, 2001:db8:3::/64); nginx listens on all.
 */
export async function addTargets(lab: Lab, addresses: readonly string[]): Promise<void> {
  for (const address of addresses) {
    await lab.exec('internet', 'ip', ['addr', 'add', address.includes(':') ? `${address}/128` : `${address}/32`, 'dev', 'lo', ...(address.includes(':') ? ['nodad'] : [])]);
  }
}

/** `http://host/path` with an IPv6 literal bracketed. */
export function httpUrl(host: string, pathname: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}${pathname}`;
}

/** The address the target saw (nginx's /ip), or curl's error. */
export async function seenBy(lab: Lab, host: string): Promise<string> {
  const r = await curl(lab, 'client', httpUrl(host, '/ip'));
  return r.code === 0 ? r.body.trim() : `curl exit ${r.code}: ${r.stderr.trim()}`;
}

/**
 * curl to a destination that should be reset at once. The RST comes within milliseconds, so curl
 * sees it while connecting (exit 7) or at its first read (exit 56); -v names "Connection reset"
 * either way. Returns undefined when it was, else what happened instead.
 */
export async function notResetAtOnce(lab: Lab, url: string, extraArgs: readonly string[] = []): Promise<string | undefined> {
  const r = await curl(lab, 'client', url, ['-v', '-w', '\n%{time_total}\n', ...extraArgs]);
  if (r.code === 0) return `curl succeeded: ${r.body}`;
  if (!/Connection reset by peer/.test(r.stderr)) return `curl failed without a reset (exit ${r.code}): ${r.stderr}`;
  // As curl measured it, so a loaded machine's process start does not count; well under the 5 s
  // connect timeout (a reset takes milliseconds, the margin is for a busy CI machine).
  const seconds = Number(r.stdout.trim().split('\n').at(-1));
  if (!(seconds < 2)) return `the reset took ${seconds} s`;
  return undefined;
}

function flowLines(daemon: Daemon, dst: string): LogLine[] {
  return daemon.lines().filter((l) => (l.msg === 'flow finished' || l.msg.startsWith('flow failed')) && l.dst === dst);
}

/**
 * Runs `act` (a client making one flow to `dst`, `host:port` with IPv6 bracketed) and returns its
 * result with the daemon's `flow finished` / `flow failed` line for that flow, which names the
 * outbound and the rule (bounded wait: a relay reports a flow after the client saw its end).
 */
export async function withFlowLine<T>(daemon: Daemon, dst: string, act: () => Promise<T>, timeoutMs = 10_000): Promise<{ result: T; line: LogLine }> {
  const seen = flowLines(daemon, dst).length;
  const result = await act();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = flowLines(daemon, dst);
    if (lines.length > seen) return { result, line: lines.at(-1)! };
    if (Date.now() > deadline) throw new Error(`no new flow line for ${dst} within ${timeoutMs} ms:\n${daemon.proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `socksgate run …` that is expected to exit (a bad config): its exit code and stderr. */
export async function runToExit(lab: Lab, ns: NsRef, args: readonly string[]): Promise<{ code: number; stderr: string }> {
  const r = await lab.exec(ns, process.execPath, [...shebangFlags(MAIN), MAIN, 'run', ...args], { allowFail: true, timeoutMs: 15_000 });
  return { code: r.code, stderr: r.stderr };
}

/** Sends one datagram and prints the first reply as JSON `{ reply, from }`, or `{}` after the wait. */
const UDP_ASK = `
const dgram = require('node:dgram');
const [host, port, waitMs] = process.argv.slice(1);
const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
const done = (result) => { process.stdout.write(JSON.stringify(result) + '\\n'); socket.close(); };
const timer = setTimeout(() => done({}), Number(waitMs));
socket.on('message', (msg, rinfo) => { clearTimeout(timer); done({ reply: msg.toString().trim(), from: rinfo.address + ':' + rinfo.port }); });
socket.send(Buffer.from('who am I?\\n'), Number(port), host);
`;

/** One UDP question from `ns`: the reply's text and source, or neither when none came within `waitMs`. */
export async function udpAsk(lab: Lab, ns: NsRef, host: string, port: number, waitMs = 2_000): Promise<{ reply?: string; from?: string }> {
  const r = await lab.exec(ns, process.execPath, ['-e', UDP_ASK, host, String(port), String(waitMs)], { timeoutMs: waitMs + 10_000 });
  return JSON.parse(r.stdout.trim()) as { reply?: string; from?: string };
}

/**
 * A UDP server (socat) on `host:port` in the internet namespace that answers each datagram with
 * the address it came from, so a test sees whose address the target saw.
 */
export async function startUdpWhoami(lab: Lab, host: string, port: number): Promise<void> {
  const v6 = host.includes(':');
  const listen = v6 ? `UDP6-RECVFROM:${port},bind=[${host}],fork` : `UDP4-RECVFROM:${port},bind=${host},fork`;
  const proc = lab.spawn('internet', 'socat', [listen, 'SYSTEM:echo $SOCAT_PEERADDR'], { name: `udp-whoami-${port}${v6 ? '-6' : ''}` });
  // Bound once it answers from inside the namespace. socat forks a shell per datagram: slow on a busy machine.
  const deadline = Date.now() + 20_000;
  while ((await udpAsk(lab, 'internet', host, port, 1_000)).reply === undefined) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`socat on ${host}:${port} does not answer:\n${proc.output()}`);
  }
}

/** The address a whoami server saw, in Node's form: socat writes IPv6 bracketed and in full. */
export async function seenOverUdp(lab: Lab, host: string, port: number): Promise<{ seen?: string; from?: string }> {
  const { reply, from } = await udpAsk(lab, 'client', host, port, 5_000);
  if (reply === undefined) return {};
  const seen = reply.startsWith('[') ? new URL(`http://${reply}`).hostname.slice(1, -1) : reply;
  return { seen, from };
}
