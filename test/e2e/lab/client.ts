/** Helpers for tests: curl in a namespace, file hashes, waiting for a log line. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { sleep } from './process.js';
import type { Lab, NsRef } from './types.js';

export interface CurlResult {
  /** curl's exit status (0 ok, 7 connect failed, 28 timeout, 97 SOCKS refused, ...). */
  code: number;
  /** Response body (stdout). */
  body: string;
  stdout: string;
  stderr: string;
}

/**
 * curl in a namespace: `curl -sS --connect-timeout 5 --max-time 20 <extraArgs> <url>`. Never
 * throws on curl errors; check `code`. Use `-o <file>` in extraArgs for binary bodies.
 */
export async function curl(lab: Lab, ns: NsRef, url: string, extraArgs: readonly string[] = [], opts: { timeoutMs?: number } = {}): Promise<CurlResult> {
  const r = await lab.exec(ns, 'curl', ['-sS', '--connect-timeout', '5', '--max-time', '20', ...extraArgs, url], {
    allowFail: true,
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  return { code: r.code, body: r.stdout, stdout: r.stdout, stderr: r.stderr };
}

/** sha256 (hex) of a file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Wait (bounded polling) until a log file contains a match; returns the matching line. */
export async function waitForLog(file: string, pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      /* not yet */
    }
    const line = text.split('\n').find((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs} ms waiting for ${pattern} in ${file}\n--- tail ---\n${text.slice(-2000)}`);
    await sleep(50);
  }
}
