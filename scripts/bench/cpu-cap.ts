/**
 * Caps processes at a share of one CPU, each in a cgroup of its own (cgroup v2 `cpu.max`, or the v1
 * cpu controller's CFS quota), so the benchmark can make the socksifier the bottleneck on a machine
 * whose cores the rest of the lab already fills: what more cores would show.
 */
import fs from 'node:fs';
import path from 'node:path';

const V2 = '/sys/fs/cgroup';
const V1 = '/sys/fs/cgroup/cpu';
const PERIOD_US = 100_000;

function cgroupRoot(): { dir: string; v2: boolean } {
  if (fs.existsSync(path.join(V2, 'cgroup.controllers'))) {
    if (!fs.readFileSync(path.join(V2, 'cgroup.subtree_control'), 'utf8').includes('cpu')) fs.writeFileSync(path.join(V2, 'cgroup.subtree_control'), '+cpu');
    return { dir: V2, v2: true };
  }
  if (fs.existsSync(path.join(V1, 'cpu.cfs_quota_us'))) return { dir: V1, v2: false };
  throw new Error('no cgroup cpu controller (neither v2 cpu.max nor v1 cpu.cfs_quota_us)');
}

/** Caps every pid at `cpus` CPUs (e.g. 0.2); returns the undo, which moves them back and removes the groups. */
export function capCpu(pids: readonly number[], cpus: number): () => void {
  const { dir, v2 } = cgroupRoot();
  const quota = Math.round(cpus * PERIOD_US);
  const groups: string[] = [];
  const undo = () => {
    for (const group of groups) {
      for (const pid of fs.readFileSync(path.join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          fs.writeFileSync(path.join(dir, 'cgroup.procs'), pid);
        } catch {
          // gone already
        }
      }
      fs.rmdirSync(group);
    }
  };
  try {
    for (const pid of pids) {
      const group = path.join(dir, `sg-bench-cap-${pid}`);
      fs.mkdirSync(group);
      groups.push(group);
      if (v2) {
        fs.writeFileSync(path.join(group, 'cpu.max'), `${quota} ${PERIOD_US}`);
      } else {
        fs.writeFileSync(path.join(group, 'cpu.cfs_period_us'), String(PERIOD_US));
        fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), String(quota));
      }
      fs.writeFileSync(path.join(group, 'cgroup.procs'), String(pid));
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}
