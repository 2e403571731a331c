import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../src/config/load.js';
import { redactArgv, restoreWorkerUpstreams, workerSecretsEnv, WORKER_UPSTREAMS_ENV } from '../../../src/config/secret-args.js';

const URL = 'socks5://alice:s3cr@t/pw@192.0.2.1:1080';
const SHOWN = 'socks5://***@192.0.2.1:1080';

test('redactArgv: every spelling of an upstream URL, and nothing else', () => {
  const cases: [string[], string[]][] = [
    [['run', '--upstream', URL], ['run', '--upstream', SHOWN]],
    [['run', `--upstream=${URL}`], ['run', `--upstream=${SHOWN}`]],
    [['run', '-u', URL], ['run', '-u', SHOWN]],
    [['run', `-u=${URL}`], ['run', `-u=${SHOWN}`]],
    [['run', `-u${URL}`], ['run', `-u${SHOWN}`]],
    [['run', '-cu', 'x.yaml', URL], ['run', '-cu', 'x.yaml', SHOWN]],
    [['run', '-u', 'alice:pw@192.0.2.1:1080', 'bob:pw2@h', '--mark', 'x:y@z'], ['run', '-u', '***@192.0.2.1:1080', '***@h', '--mark', 'x:y@z']],
    [['exec', '--', 'ssh', 'alice@host', 'curl', 'http://u:p@h/'], ['exec', '--', 'ssh', 'alice@host', 'curl', 'http://***@h/']],
    [['run', '--upstream', 'socks5://192.0.2.1:1080', '--redirect', '127.0.0.1:12345'], ['run', '--upstream', 'socks5://192.0.2.1:1080', '--redirect', '127.0.0.1:12345']],
  ];
  for (const [argv, want] of cases) assert.deepEqual(redactArgv(argv), want, argv.join(' '));
});

test('a worker gets its --upstream values back from the environment, checked against its redacted argv', () => {
  const typed = [URL, 'socks5://203.0.113.9:1080'];
  const env = workerSecretsEnv(typed);
  assert.deepEqual(Object.keys(env), [WORKER_UPSTREAMS_ENV]);
  assert.deepEqual(restoreWorkerUpstreams([SHOWN, 'socks5://203.0.113.9:1080'], env), typed);
  assert.deepEqual(restoreWorkerUpstreams(['socks5://203.0.113.9:1080'], {}), ['socks5://203.0.113.9:1080']);
  assert.equal(restoreWorkerUpstreams(undefined, {}), undefined);
  assert.deepEqual(workerSecretsEnv(undefined), {});
  for (const parsed of [[SHOWN], ['socks5://***@198.51.100.1:1080', 'socks5://203.0.113.9:1080'], undefined]) {
    assert.throws(() => restoreWorkerUpstreams(parsed, env), (err: Error) => err instanceof ConfigError && !err.message.includes('s3cr'));
  }
  assert.throws(() => restoreWorkerUpstreams([SHOWN], { [WORKER_UPSTREAMS_ENV]: '{' }), ConfigError);
});
