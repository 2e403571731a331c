import { errorMessage } from '../../core/errors.js';

/**
 * Undoes what exec set up, exactly once, from any exit path but SIGKILL. The cgroup goes first:
 * whatever the command left running in it is killed while the rules still divert it, so none of
 * it ever reaches the network unproxied. A cgroup that cannot be emptied keeps its rules; a later
 * exec removes them once the cgroup is gone (see sweep).
 */
export function execTeardown(cgroup: { readonly path: string; remove(): void }, removeRules: () => void, say: (line: string) => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    try {
      cgroup.remove();
    } catch (err) {
      say(`cannot remove cgroup ${cgroup.path}: ${errorMessage(err)}; its rules stay, so what still runs in it stays proxied`);
      return;
    }
    try {
      removeRules();
    } catch (err) {
      say(`cannot remove the rules: ${errorMessage(err)}`);
    }
  };
}
