// A password typed on the command line never shows: not in the argv that `ps` and the workers
// see, not in any error about the URL it is part of, whatever characters it holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { parseUpstreamUrl } from '../../src/config/upstream-url.js';
import { redactArgv } from '../../src/config/secret-args.js';

const RUNS = { numRuns: 1000 };

/** The characters that break naive redaction (@ / : % # ? \) among ordinary ones. */
const passwordChar = fc.constantFrom(...'@/:%#?\\ !$&=+;,~*-._[]', ...'abcXYZ0129');
const password = fc.string({ unit: passwordChar, minLength: 4, maxLength: 16 });
const user = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const host = fc.constantFrom('192.0.2.1', '[2001:db8::1]', 'proxy.lab', 'proxy.lab:1080', '198.51.100.7:3128');
const scheme = fc.constantFrom('socks5://', 'socks4://', 'http://', 'socks5:', 'socks5:/', 'SOCKS5://', '');
const query = fc.constantFrom('', '?pipelining=off', '/', '?name=corp');

/** How a user may hand an upstream URL to the CLI; `extra` is another, password-free URL. */
const SPELLINGS: ReadonlyArray<(url: string, extra: string) => string[]> = [
  (url) => ['run', '--upstream', url],
  (url) => ['run', `--upstream=${url}`],
  (url) => ['run', '-u', url],
  (url) => ['run', `-u=${url}`],
  (url, extra) => ['run', '--upstream', extra, url, '--workers', '2'],
  (url, extra) => ['run', `--upstream=${extra}`, url],
  (url, extra) => ['run', '-u', extra, '--mark', '2', '-u', url, '--log-level', 'debug'],
  (url) => ['exec', '-u', url, '--', 'curl', 'https://example.com'],
  (url) => ['run', `-u${url}`],
  (url) => ['run', '-cu', url],
  (url) => ['run', '--upstreams', url],
  (url) => ['check', '--config', '/etc/socksgate.yaml', '--upstream', url, '--redirect', '127.0.0.1:12345'],
];

interface Case {
  readonly url: string;
  readonly pw: string;
  readonly argv: readonly string[];
  /** The same case with a plain password: what must hold no copy of `pw` by coincidence. */
  readonly plainArgv: readonly string[];
  readonly plainUrl: string;
}

const cases: fc.Arbitrary<Case> = fc
  .record({ scheme, user, pw: password, host, query, spelling: fc.integer({ min: 0, max: SPELLINGS.length - 1 }) })
  .map(({ scheme, user, pw, host, query, spelling }) => {
    const urlWith = (secret: string) => `${scheme}${user}:${secret}@${host}${query}`;
    const argvWith = (secret: string) => SPELLINGS[spelling](urlWith(secret), 'socks5://203.0.113.9:1080');
    return { url: urlWith(pw), pw, argv: argvWith(pw), plainArgv: argvWith('QQQQ'), plainUrl: urlWith('QQQQ') };
  });

/** The password as typed, and as the URL decoder would turn it out. */
function forms(pw: string): string[] {
  try {
    const decoded = decodeURIComponent(pw);
    return decoded.length >= 4 && decoded !== pw ? [pw, decoded] : [pw];
  } catch {
    return [pw];
  }
}

function assertHidden(text: string, pw: string, coincidence: string, what: string): void {
  for (const form of forms(pw)) {
    if (coincidence.includes(form)) continue; // e.g. "lab:" is in the host too
    assert.ok(!text.includes(form), `${what} shows the password ${JSON.stringify(form)}: ${text}`);
  }
}

test('redactArgv: no spelling of --upstream/-u shows any part of the password', () => {
  fc.assert(
    fc.property(cases, (c) => {
      const redacted = redactArgv(c.argv);
      assert.equal(redacted.length, c.argv.length);
      assertHidden(redacted.join(' '), c.pw, redactArgv(c.plainArgv).join(' '), 'argv');
      // A trailing piece of the password (what a first-"@" redaction leaves) never shows either.
      const tail = c.pw.slice(c.pw.lastIndexOf('@') + 1);
      if (tail.length >= 4 && !redactArgv(c.plainArgv).join(' ').includes(tail)) assert.ok(!redacted.join(' ').includes(tail));
    }),
    RUNS,
  );
});

test('parseUpstreamUrl and loadConfig: an error never shows the password, a success never moves it out of `password`', () => {
  fc.assert(
    fc.property(cases, (c) => {
      const coincidence = `${parseMessage(c.plainUrl)}\n${configText(c.plainUrl)}`;
      assertHidden(parseMessage(c.url), c.pw, coincidence, 'parseUpstreamUrl');
      assertHidden(configText(c.url), c.pw, coincidence, 'loadConfig');
    }),
    RUNS,
  );
});

function parseMessage(url: string): string {
  try {
    const { password: _password, ...shown } = parseUpstreamUrl(url);
    return JSON.stringify(shown);
  } catch (err) {
    assert.ok(err instanceof RangeError, `not a RangeError: ${String(err)}`);
    return err.message;
  }
}

/** What a user can see of a config: every error message, or the upstream's name and server. */
function configText(url: string): string {
  try {
    const { upstreams } = loadConfig(undefined, { upstream: [url] }, {});
    return JSON.stringify(upstreams.map(({ password: _password, ...shown }) => shown));
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    return err.message;
  }
}
