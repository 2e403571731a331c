import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execTeardown } from '../../../src/cli/exec/teardown.js';

function recorder(opts: { cgroupFails?: boolean } = {}) {
  const steps: string[] = [];
  const said: string[] = [];
  const cgroup = {
    path: 'socksgate/exec-42',
    remove() {
      steps.push('kill and remove the cgroup');
      if (opts.cgroupFails) throw new Error('EBUSY: still populated');
    },
  };
  const cleanup = execTeardown(cgroup, () => steps.push('remove the rules'), (line) => said.push(line));
  return { steps, said, cleanup };
}

test('exec teardown: the cgroup is emptied before the rules go, so a leftover child never goes out unproxied', () => {
  const { steps, said, cleanup } = recorder();
  cleanup();
  cleanup();
  assert.deepEqual(steps, ['kill and remove the cgroup', 'remove the rules']);
  assert.deepEqual(said, []);
});

test('exec teardown: a cgroup that cannot be emptied keeps its rules', () => {
  const { steps, said, cleanup } = recorder({ cgroupFails: true });
  cleanup();
  assert.deepEqual(steps, ['kill and remove the cgroup']);
  assert.match(said.join('\n'), /cannot remove cgroup socksgate\/exec-42: EBUSY.*rules stay/);
});
