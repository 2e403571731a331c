import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway cgroup v2 for `socksgate exec`. cgroup v2 is a single hierarchy, so a cgroup made
 * here is the same one the kernel reports for the command's sockets wherever the daemon runs.
 */

/** Where nft resolves `socket cgroupv2` paths (it prefixes this, whatever is mounted there). */
const NFT_CGROUP_BASE = '/sys/fs/cgroup';
const MOUNT_PREFIX = 'socksgate-cgroup2-';

/** Mount point of a cgroup v2 showing the whole hierarchy, from /proc/self/mountinfo text. */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] !== 'cgroup2') continue;
    const fields = left.split(' ');
    // A bind mount of a sub-cgroup (root other than /) would give paths relative to the wrong place.
    if (fields[3] !== '/') continue;
    return fields[4]?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  }
  return undefined;
}

function run(cmd: string, args: readonly string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.error?.message ?? r.stderr).trim()}`);
}

/** Removes empty stale directories; a populated cgroup is in use by someone and is left alone. */
function sweepSiblings(parent: string, isStale: (name: string) => boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return;
  }
  for (const name of names.filter(isStale)) {
    try {
      fs.rmdirSync(path.join(parent, name));
    } catch {
      // populated (EBUSY) or already gone
    }
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class ExecCgroup {
  /** From the cgroup v2 root, e.g. "socksgate/exec-42". */
  readonly path: string;
  /** Its directory as nft finds it (relative to /sys/fs/cgroup). */
  readonly nftPath: string;
  readonly dir: string;
  private removed = false;

  private constructor(
    private readonly mount: string,
    /** Set when cgroup2 was not visible (`ip netns exec` remounts /sys) and we mounted it ourselves. */
    private readonly ownMount: boolean,
    name: string,
  ) {
    this.path = `socksgate/${name}`;
    this.dir = path.join(mount, this.path);
    this.nftPath = path.relative(NFT_CGROUP_BASE, this.dir);
  }

  /**
   * Creates (or, after a crash, recreates) cgroup `socksgate/exec-<pid>` for this process. What
   * SIGKILLed execs left (`isDead(their pid)`) goes on the way: their empty cgroups and the
   * directories they mounted cgroup v2 on (their mounts lived in their own mount namespaces).
   */
  static create(isDead: (pid: number) => boolean): ExecCgroup {
    const stale = (prefix: string) => (name: string) => {
      const pid = Number(name.startsWith(prefix) ? name.slice(prefix.length) : NaN);
      return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isDead(pid);
    };
    sweepSiblings(os.tmpdir(), stale(MOUNT_PREFIX));
    let mount = findCgroup2Mount(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
    const ownMount = mount === undefined;
    if (mount === undefined) {
      mount = path.join(os.tmpdir(), `${MOUNT_PREFIX}${process.pid}`);
      fs.mkdirSync(mount, { recursive: true });
      try {
        run('mount', ['-t', 'cgroup2', 'cgroup2', mount]);
      } catch (err) {
        fs.rmdirSync(mount);
        throw new Error(`cgroup v2 is not mounted here and cannot be mounted (${(err as Error).message}); socksgate exec needs cgroup v2`, { cause: err });
      }
    }
    const cgroup = new ExecCgroup(mount, ownMount, `exec-${process.pid}`);
    try {
      sweepSiblings(path.dirname(cgroup.dir), stale('exec-'));
      if (fs.existsSync(cgroup.dir)) cgroup.emptyAndRemove();
      fs.mkdirSync(cgroup.dir, { recursive: true });
    } catch (err) {
      cgroup.unmount();
      throw err;
    }
    cgroup.removed = false;
    return cgroup;
  }

  /** Whether a cgroup `socksgate/<name>` exists (for another exec). */
  hasSibling(name: string): boolean {
    return fs.existsSync(path.join(path.dirname(this.dir), name));
  }

  /** argv that moves itself into the cgroup, then execs `command`: nothing runs outside it. */
  wrap(command: readonly string[]): string[] {
    return ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', path.join(this.dir, 'cgroup.procs'), ...command];
  }

  /**
   * Kills whatever the command left running in the cgroup (a cgroup with processes cannot be
   * removed), removes it, and the shared parent when this was the last one. Synchronous: it also
   * runs from an exit handler. Idempotent.
   */
  remove(): void {
    if (this.removed) return;
    try {
      this.emptyAndRemove();
      try {
        fs.rmdirSync(path.dirname(this.dir));
      } catch {
        // another exec still uses socksgate/
      }
    } finally {
      this.unmount();
    }
  }

  private emptyAndRemove(): void {
    this.removed = true;
    for (let i = 0; i < 200; i++) {
      if (!this.populated()) break;
      fs.writeFileSync(path.join(this.dir, 'cgroup.kill'), '1');
      sleepSync(10);
    }
    fs.rmdirSync(this.dir);
  }

  private populated(): boolean {
    return /^populated 1$/m.test(fs.readFileSync(path.join(this.dir, 'cgroup.events'), 'utf8'));
  }

  private unmount(): void {
    if (!this.ownMount) return;
    try {
      run('umount', [this.mount]);
      fs.rmdirSync(this.mount);
    } catch {
      // the mount lives in this process's mount namespace and goes with it
    }
  }
}
