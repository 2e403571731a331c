import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { MAIN } from './rules-lab.js';

/** systemd/socksgate.service: what the issue asks of it, and `systemd-analyze verify` without a single warning. */

const UNIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../systemd/socksgate.service');
const text = readFileSync(UNIT, 'utf8');
const dir = mkdtempSync(path.join(tmpdir(), 'sg-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function values(key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

test('the unit runs as a dedicated user with two capabilities, sandboxed, rules in pre/post', () => {
  assert.deepEqual(values('User'), ['socksgate']);
  assert.deepEqual(values('AmbientCapabilities'), ['CAP_NET_ADMIN CAP_NET_BIND_SERVICE']);
  assert.deepEqual(values('CapabilityBoundingSet'), ['CAP_NET_ADMIN CAP_NET_BIND_SERVICE']);
  // ProtectSystem=strict leaves only these writable: the control socket's and the fake-IP state's directories.
  assert.deepEqual(values('RuntimeDirectory'), ['socksgate']);
  assert.deepEqual(values('StateDirectory'), ['socksgate']);
  for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['Restart', 'on-failure']]) {
    assert.deepEqual(values(key), [value], key);
  }
  assert.deepEqual(values('RestrictAddressFamilies'), ['AF_INET AF_INET6 AF_NETLINK AF_UNIX']);
  assert.deepEqual(values('ExecStartPre'), ['+/usr/bin/socksgate rules apply --config /etc/socksgate/config.yaml']);
  assert.deepEqual(values('ExecStart'), ['/usr/bin/socksgate run --config /etc/socksgate/config.yaml']);
  assert.deepEqual(values('ExecStopPost'), ['+/usr/bin/socksgate rules flush --config /etc/socksgate/config.yaml']);
  assert.deepEqual(values('ExecReload'), ['/bin/kill -HUP $MAINPID']);
});

test('systemd-analyze verify passes with no warning (the binary path pointed at the built CLI)', () => {
  // verify insists that every Exec path exists; /usr/bin/socksgate is not installed on a test machine.
  const bin = path.join(dir, 'socksgate');
  writeFileSync(bin, `#!/bin/sh\nexec ${process.execPath} ${MAIN} "$@"\n`);
  chmodSync(bin, 0o755);
  const unit = path.join(dir, 'socksgate.service');
  writeFileSync(unit, text.replaceAll('/usr/bin/socksgate', bin));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'systemd-analyze is missing: run scripts/test-deps');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'verify printed warnings');
});

test('the commands in the unit are valid socksgate command lines', () => {
  for (const command of ['rules apply', 'rules flush', 'run']) {
    const r = spawnSync(process.execPath, [MAIN, ...command.split(' '), '--config', '/etc/socksgate/config.yaml', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
  }
});
