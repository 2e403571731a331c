// A password typed in --upstream=URL (the "=" spelling, holding "@", ":" and an escaped "/") shows
// in no socksgate process's /proc/PID/cmdline: not the primary's, not its workers' (which are
// forked without it), and not in the log; the workers still authenticate with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createLab, curl, startMicrosocks, startNginx, TEST_USER, type Lab, type NginxHandle, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate } from './socksgate.js';

const PASSWORD = 'Sg@pa:ss/w0rd';
/** As typed in the URL: "@" and ":" stay (the last "@" ends the user info), "/" is escaped. */
const TYPED = 'Sg@pa:ss%2Fw0rd';
/** Every piece of the password that a partial redaction would leave. */
const PIECES = [PASSWORD, TYPED, 'pa:ss', 'ss%2Fw0rd', 'ss/w0rd', 'w0rd'];

let lab: Lab;
let nginx: NginxHandle;
let micro: SocksHandle;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  micro = await startMicrosocks(lab, { port: 1081, user: TEST_USER, pass: PASSWORD });
  await applyRedirectRules(lab, 'client');
});
after(() => lab?.destroy());

function assertNoPassword(what: string, text: string): void {
  for (const piece of PIECES) assert.ok(!text.includes(piece), `${what} shows ${JSON.stringify(piece)}: ${JSON.stringify(text)}`);
}

test('--upstream=socks5://user:pass@… with --workers 2: no cmdline holds the password, flows authenticate', async () => {
  const upstream = `socks5://${TEST_USER}:${TYPED}@${micro.host}:${micro.port}`;
  const daemon = await startSocksgate(lab, 'client', [`--upstream=${upstream}`, '--mark', String(DAEMON_MARK), '--workers', '2'], { name: 'sg-secrets-workers' });
  try {
    const workers = daemon.lines().filter((l) => l.msg === 'worker listening').map((l) => l.workerPid as number);
    assert.equal(workers.length, 2, daemon.proc.output());
    for (const pid of [daemon.proc.pid!, ...workers]) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      assert.match(cmdline, /--upstream=socks5:\/\/\*\*\*@/, `pid ${pid}: ${JSON.stringify(cmdline)}`);
      assertNoPassword(`/proc/${pid}/cmdline`, cmdline);
    }
    for (let i = 0; i < 4; i++) {
      const res = await curl(lab, 'client', nginx.url('/small.txt'));
      assert.equal(res.code, 0, `${res.stderr}\n${daemon.proc.output()}`);
      assert.equal(res.body, nginx.smallText);
    }
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  assertNoPassword('the log', daemon.proc.output());
});
