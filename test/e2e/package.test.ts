// The package as npm publishes it: `npm pack` (its prepare script builds dist/), then the tarball
// installed into an empty project, where the install script builds the addon from the shipped
// sources. The pack runs in a copy of the repository so that prepare's rebuild of dist/ never
// pulls files from under other tests running the repository's dist/ at the same time.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { nativeBinding } from '../../src/native/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'sg-package-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What a checkout has that is not source: left out of the copy (node_modules is linked instead). */
const NOT_SOURCE = new Set(['.git', 'node_modules', 'dist', 'build']);

/**
 * npm as a user runs it, not as the script of an outer npm (`npm test` exports npm_config_local_prefix
 * and the like, which would point the inner npm at this repository). Config files still apply.
 */
function npm(args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.error, undefined, `npm ${args.join(' ')}: ${r.error}`);
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The C and C++ sources binding.gyp compiles, and every local header they include. */
function addonSources(): string[] {
  const gyp = JSON.parse(readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
  const sources = gyp.targets.flatMap((t) => t.sources);
  const files = new Set(sources);
  for (const source of sources) {
    for (const [, header] of readFileSync(path.join(ROOT, source), 'utf8').matchAll(/^#include "([^"]+)"/gm)) files.add(path.posix.join(path.posix.dirname(source), header));
  }
  return [...files].sort();
}

test('npm pack ships what the install needs; the installed package builds its addon and runs', { timeout: 600_000 }, () => {
  const copy = path.join(dir, 'repo');
  cpSync(ROOT, copy, { recursive: true, filter: (src) => path.dirname(src) !== ROOT || !NOT_SOURCE.has(path.basename(src)) });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));

  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], copy).stdout) as { filename: string; files: { path: string }[] }[];
  const shipped = new Set(packed.files.map((f) => f.path));
  assert.ok(shipped.has('dist/main.js'), 'prepare did not build dist/ into the package');
  const missing = addonSources().filter((f) => !shipped.has(f));
  assert.deepEqual(missing, [], 'addon sources binding.gyp needs but the package lacks');
  assert.ok(![...shipped].some((f) => f.startsWith('build/')), 'a prebuilt addon is in the package');

  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'socksgate-package-probe', version: '0.0.0', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, packed.filename)], app);

  const installed = path.join(app, 'node_modules/socksgate');
  const addon = path.join(installed, 'build/Release/socksgate_native.node');
  assert.ok(existsSync(addon), 'the install script did not build the addon');
  // The addon built from the shipped sources has every export the repository's build has.
  const probe = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); a.raiseNofile(); console.log(JSON.stringify(Object.keys(a).sort()))`], { encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  assert.deepEqual(JSON.parse(probe.stdout), Object.keys(nativeBinding()).sort());

  const bin = path.join(app, 'node_modules/.bin/socksgate');
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /socksgate check/);
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, 'upstreams:\n  - socks5://192.0.2.1:1080\nredirect: ["127.0.0.1:12345"]\n');
  const check = spawnSync(bin, ['check', '-c', config], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /config OK/);
});
