import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCgroup2Mount } from '../../../src/cgroup/cgroup2.js';

test('finds the cgroup v2 mount of a hybrid host, unescaping the mount point', () => {
  const mountinfo = [
    '30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
    '32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
  ].join('\n');
  assert.equal(findCgroup2Mount(mountinfo), '/sys/fs/cgroup/unified');
  assert.equal(findCgroup2Mount('40 1 0:27 / /mnt/my\\040cg rw - cgroup2 none rw'), '/mnt/my cg');
});

test('ignores a bind mount of a sub-cgroup and reports none when cgroup v2 is not visible', () => {
  assert.equal(findCgroup2Mount('40 1 0:27 /user.slice /mnt/x rw - cgroup2 none rw'), undefined);
  assert.equal(findCgroup2Mount('22 1 0:21 / /sys rw - sysfs sysfs rw'), undefined);
});
