import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { LabImpl } from './lab-impl.js';
import { labDirFor, listNetns, nsNames, randomId, sweepStaleLabs } from './namespaces.js';
import { setupNetwork } from './network.js';
import { procStartTime } from './process.js';
import { installHooks, live } from './registry.js';
import type { CreateLabOptions, Lab } from './types.js';

/** Build a fresh lab. Cleans up after itself if any step fails. */
export async function createLab(opts: CreateLabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('the e2e lab needs root (network namespaces)');
  installHooks();
  try {
    sweepStaleLabs();
  } catch {
    /* best effort */
  }
  const existing = new Set(listNetns());
  let id = '';
  let dir = '';
  for (let attempt = 0; ; attempt++) {
    id = randomId();
    dir = labDirFor(id);
    if (Object.values(nsNames(id)).some((n) => existing.has(n))) continue;
    try {
      fs.mkdirSync(dir, { mode: 0o755 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw e;
    }
  }
  fs.chmodSync(dir, 0o755); // sshd (as the login user) and Dante/tinyproxy children read files here
  fs.writeFileSync(path.join(dir, 'owner'), JSON.stringify({ pid: process.pid, start: procStartTime('self') }));
  const lab = new LabImpl(id, dir, opts.ipv6 ?? false);
  live.set(id, lab);
  try {
    await setupNetwork(lab);
  } catch (e) {
    await lab.destroy();
    throw e;
  }
  return lab;
}

/**
 * node:test helper: builds a lab in `before` and destroys it in `after` of the current suite (or
 * file). Returns an accessor for use inside tests.
 *
 *   const lab = useLab({ ipv6: true });
 *   test('x', async () => { await lab().exec('client', 'true') });
 */
export function useLab(opts: CreateLabOptions = {}): () => Lab {
  let lab: Lab | null = null;
  before(async () => {
    lab = await createLab(opts);
  });
  after(async () => {
    await lab?.destroy();
  });
  return () => {
    if (!lab) throw new Error('lab not created yet (use it inside a test)');
    return lab;
  };
}
