/**
 * Figure 2, time to first byte: curl of nginx /small.txt from the client namespace across the
 * delay line (delay-line.ts), `-w '%{time_connect} %{time_starttransfer}'`. Round trips are
 * (t − t_direct) / RTT + 2.0, where a direct fetch is 2 round trips (TCP handshake, request) and
 * RTT is the median TCP connect time of the direct fetches (the delay line's real round trip,
 * a little over the nominal one).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../test/e2e/lab.js';
import type { DanteHandle } from './bench-lab.js';

const LOGIN_PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'socks-login-time.mjs');

/**
 * Dante's own time to answer a username/password login (median of 10, from inside the proxy
 * namespace, so no delay line): its username method checks the system password with crypt(3).
 */
export async function danteLoginMs(lab: Lab, dante: DanteHandle): Promise<number> {
  if (!dante.auth) throw new Error('danteLoginMs: this Dante has no username method');
  const r = await lab.exec('proxy', process.execPath, [LOGIN_PROBE, '--host', dante.host, '--port', String(dante.port), '--user', dante.auth.user, '--pass', dante.auth.pass, '--count', '10'], {
    timeoutMs: 60_000,
  });
  const m = /login-ms ([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`socks-login-time: ${r.stdout} ${r.stderr}`);
  return Number(m[1]);
}

export interface TtfbSamples {
  connectMs: number[];
  ttfbMs: number[];
  failures: number;
}

export async function runTtfb(lab: Lab, url: string, count: number, warmup = 2): Promise<TtfbSamples> {
  const out: TtfbSamples = { connectMs: [], ttfbMs: [], failures: 0 };
  for (let i = 0; i < warmup + count; i++) {
    const r = await lab.exec('client', 'curl', ['-s', '-o', '/dev/null', '--max-time', '5', '-w', '%{time_connect} %{time_starttransfer} %{http_code}', url], {
      allowFail: true,
    });
    const [c, t, code] = r.stdout.trim().split(' ');
    if (r.code !== 0 || code !== '200') {
      out.failures++;
      if (out.failures > 3) throw new Error(`curl ${url}: exit ${r.code} ${r.stdout} ${r.stderr}`);
      continue;
    }
    if (i < warmup) continue;
    out.connectMs.push(Number(c) * 1000);
    out.ttfbMs.push(Number(t) * 1000);
  }
  return out;
}

/** The fetches of several runs as one set. */
export function mergeTtfb(a: TtfbSamples | undefined, b: TtfbSamples): TtfbSamples {
  return a ? { connectMs: [...a.connectMs, ...b.connectMs], ttfbMs: [...a.ttfbMs, ...b.ttfbMs], failures: a.failures + b.failures } : b;
}

export function roundTrips(ttfbMs: number, directTtfbMs: number, rttMs: number): number {
  return (ttfbMs - directTtfbMs) / rttMs + 2.0;
}
