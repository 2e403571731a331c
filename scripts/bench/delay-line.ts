/**
 * A lab whose client ⇄ proxy link has a fixed round-trip time, for the time-to-first-byte figure.
 * There is no sch_netem here (KERNEL.md), so the link is delay-line.c: two TUN interfaces, one in
 * the client namespace (dl-c, 192.0.2.2/24) and one in the proxy namespace (dl-p, 192.0.2.1/24),
 * joined by a program that holds every packet RTT/2 in each direction. The e2e lab's veth between
 * the two namespaces is taken down (addresses flushed), so every client ⇄ proxy packet, SOCKS or
 * direct, crosses the delay line; proxy ⇄ internet stays a plain veth.
 *
 * The binary is compiled from scripts/bench/delay-line.c with gcc at bench time. It runs inside
 * the proxy namespace and creates both TUN interfaces there; dl-c is then moved to the client
 * namespace. Nothing is created in the root namespace.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_ADDR, LAB_IFACE, createLab, type Lab, type LabProcess } from '../../test/e2e/lab.js';
import { sleep } from './util.js';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'delay-line.c');

/** gcc -O2 delay-line.c into outDir; returns the binary's path. */
export function compileDelayLine(outDir: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const bin = path.join(outDir, 'delay-line');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', bin, SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc delay-line.c: exit ${r.status}\n${r.stderr}`);
  return bin;
}

export interface DelayLab {
  lab: Lab;
  delayLine: LabProcess;
  rttMs: number;
}

export async function createDelayLab(binary: string, rttMs: number): Promise<DelayLab> {
  const lab = await createLab();
  try {
    const A = LAB_ADDR;
    // the binary may sit in a directory the namespaces can read: it runs as root anyway
    await lab.exec('client', 'ip', ['addr', 'flush', 'dev', LAB_IFACE.clientToProxy]);
    await lab.exec('client', 'ip', ['link', 'set', LAB_IFACE.clientToProxy, 'down']);
    await lab.exec('proxy', 'ip', ['addr', 'flush', 'dev', LAB_IFACE.proxyToClient]);
    await lab.exec('proxy', 'ip', ['link', 'set', LAB_IFACE.proxyToClient, 'down']);

    const oneWayUs = Math.round((rttMs * 1000) / 2);
    const delayLine = lab.spawn('proxy', binary, ['dl-c', 'dl-p', String(oneWayUs)], { name: 'delay-line' });
    const deadline = Date.now() + 5000;
    while (!delayLine.output().includes('ready')) {
      if (delayLine.exitCode !== null || Date.now() > deadline) throw new Error(`delay-line did not start:\n${delayLine.output()}`);
      await sleep(20);
    }
    await lab.exec('proxy', 'ip', ['link', 'set', 'dl-c', 'netns', lab.ns.client]);
    await lab.exec('client', 'ip', ['-batch', '-'], {
      input: [
        `addr add ${A.client}/24 dev dl-c`,
        'link set dl-c up',
        `route add ${A.internetNet} via ${A.proxyClientSide}`,
        `route add ${A.targetNet} via ${A.proxyClientSide}`,
        '',
      ].join('\n'),
    });
    await lab.exec('proxy', 'ip', ['-batch', '-'], { input: [`addr add ${A.proxyClientSide}/24 dev dl-p`, 'link set dl-p up', ''].join('\n') });
    return { lab, delayLine, rttMs };
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}
