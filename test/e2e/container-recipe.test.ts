import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { MAIN } from './rules-lab.js';

/**
 * The container recipe (Dockerfile) and the sidecar example (docs/sidecar.md), read as text: no
 * Docker engine or Kubernetes here. The Dockerfile's paths must exist and match package.json, and
 * the documented config and command lines must be what the built CLI accepts.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
const dir = mkdtempSync(path.join(tmpdir(), 'sg-recipe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Instructions with continuation lines joined and comments dropped, split into stages at FROM. */
function stages(): { from: string; lines: string[] }[] {
  const joined = dockerfile
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l !== '');
  const out: { from: string; lines: string[] }[] = [];
  for (const line of joined) {
    if (line.startsWith('FROM ')) out.push({ from: line, lines: [] });
    else if (out.length > 0) out[out.length - 1].lines.push(line);
  }
  return out;
}

const aptPackages = (lines: string[]) =>
  lines
    .filter((l) => l.startsWith('RUN ') && l.includes('apt-get install'))
    .flatMap((l) => l.replace(/.*apt-get install /, '').split(' && ')[0].split(' '))
    .filter((w) => w !== '' && !w.startsWith('-'));

test('Dockerfile: node:20-bookworm-slim, compilers only in the build stage, the firewall tools in the runtime one', () => {
  assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  assert.match(pkg.engines.node, />=20/);
  const [build, runtime, ...more] = stages();
  assert.equal(more.length, 0, 'two stages');
  assert.equal(build.from, 'FROM ${NODE_IMAGE} AS build');
  assert.equal(runtime.from, 'FROM ${NODE_IMAGE}');
  assert.deepEqual(aptPackages(build.lines).sort(), ['g++', 'make', 'python3']);
  assert.deepEqual(aptPackages(runtime.lines).sort(), ['iproute2', 'iptables', 'nftables']);
  assert.ok(build.lines.some((l) => l.startsWith('RUN npm ci ') && l.includes('npm prune --omit=dev')), 'npm ci builds, prune drops dev dependencies');
  assert.ok(!build.lines.some((l) => /^ENV NODE_ENV=production/.test(l)), 'NODE_ENV=production in the build stage would skip the dev dependencies (tsc, esbuild)');
});

test('Dockerfile: every path it copies from the context exists, and the runtime gets the built program', () => {
  const [build, runtime] = stages();
  const fromContext = build.lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(' ').slice(1, -1));
  assert.deepEqual(fromContext, ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/main-loader.cjs', 'src']);
  for (const p of fromContext) assert.ok(existsSync(path.join(ROOT, p)), p);
  // The addon's sources are under src/ (copied above).
  const gyp = JSON.parse(readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')) as { targets: { target_name: string; sources: string[] }[] };
  for (const source of gyp.targets[0].sources) assert.match(source, /^src\//);
  assert.equal(gyp.targets[0].target_name, 'socksgate_native');
  const copies = runtime.lines.filter((l) => l.startsWith('COPY --from=build '));
  assert.deepEqual(
    copies.map((l) => l.split(' ').slice(2)),
    [
      ['/src/package.json', './package.json'],
      ['/src/node_modules', './node_modules'],
      ['/src/dist', './dist'],
      ['/src/build/Release/socksgate_native.node', './build/Release/socksgate_native.node'],
    ],
  );
  // The bundle in dist/ loads the addon one level up, as the runtime layout has it.
  assert.match(readFileSync(path.join(ROOT, 'src/native/index.ts'), 'utf8'), /'\.\.\/build\/Release\/socksgate_native\.node'/);
  assert.match(dockerfile, /^WORKDIR \/opt\/socksgate$/m);
  assert.equal(pkg.bin.socksgate, 'dist/main.js');
  assert.ok(runtime.lines.some((l) => l.includes(`ln -s /opt/socksgate/${pkg.bin.socksgate} /usr/local/bin/socksgate`)), 'the bin on PATH');
  assert.ok(runtime.lines.some((l) => l.includes(`chmod 0755 ${pkg.bin.socksgate}`)));
  // node from PATH (/usr/local/bin in the image) with V8 flags: `env -S` (coreutils ≥ 8.30) splits them.
  assert.match(readFileSync(path.join(ROOT, 'src/main.ts'), 'utf8'), /^#!\/usr\/bin\/env -S node( --[a-z-]+(=\d+)?)+\n/);
  assert.deepEqual(runtime.lines.filter((l) => l.startsWith('USER ')), ['USER socksgate:socksgate']);
  assert.match(dockerfile, /useradd --system --uid 10001 --gid socksgate /);
  assert.deepEqual(runtime.lines.filter((l) => l.startsWith('ENTRYPOINT ')), ['ENTRYPOINT ["socksgate"]']);
  // A host-built node_modules or build/ must not reach the image.
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', 'build', 'dist']) assert.ok(ignored.includes(p), p);
});

// docs/sidecar.md: the ConfigMap and the Pod.
const sidecarDoc = readFileSync(path.join(ROOT, 'docs/sidecar.md'), 'utf8');
const yamlBlocks = [...sidecarDoc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
interface Container {
  name: string;
  args: string[];
  securityContext: { runAsUser: number; capabilities: { drop?: string[]; add?: string[] } };
}
const [configMap, pod] = parseAllDocuments(yamlBlocks[0]).map((d) => d.toJS()) as [
  { kind: string; data: Record<string, string> },
  { kind: string; spec: { initContainers: Container[]; containers: Container[] } },
];
// The bin itself, as the image's ENTRYPOINT runs it: through its shebang, with its node flags.
const cli = (args: readonly string[]) => spawnSync(MAIN, args, { encoding: 'utf8' });

test('docs/sidecar.md: the ConfigMap is a valid config for sidecar mode that excludes the image\'s uid', () => {
  assert.equal(configMap.kind, 'ConfigMap');
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, configMap.data['config.yaml']);
  const r = cli(['check', '-c', config]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(configMap.data['config.yaml'], /^ {2}mode: sidecar$/m);
  assert.match(configMap.data['config.yaml'], /^ {2}exclude_uids: \[10001\]/m);
});

test('docs/sidecar.md: the init container applies sidecar rules as root with NET_ADMIN; the daemon runs as 10001 with no capability', () => {
  assert.equal(pod.kind, 'Pod');
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, configMap.data['config.yaml']);
  const withConfig = (args: string[]) => args.map((a) => (a === '/etc/socksgate/config.yaml' ? config : a));

  const [init] = pod.spec.initContainers;
  assert.deepEqual(init.args.slice(0, 2), ['rules', 'apply']);
  assert.equal(init.securityContext.runAsUser, 0);
  assert.deepEqual(init.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
  // What apply would install, rendered by the CLI from the documented command line (print only).
  for (const [backend, uidRule] of [['nft', /meta skuid 10001 return/], ['iptables', /-m owner --uid-owner 10001 -j RETURN/]] as const) {
    const r = cli(['rules', 'print', ...withConfig(init.args.slice(2)), '--rules-backend', backend]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^# socksgate rules apply: ${backend}, sidecar mode: ipv4 tcp redirect :12345, dns :5353$`, 'm'));
    assert.match(r.stdout, uidRule);
    assert.doesNotMatch(r.stdout, /^ip -[46] (rule|route) (add|replace)/m, 'sidecar mode adds no routing');
  }

  const daemon = pod.spec.containers.find((c) => c.name === 'socksgate');
  assert.ok(daemon);
  assert.equal(daemon.securityContext.runAsUser, 10001);
  assert.deepEqual(daemon.securityContext.capabilities, { drop: ['ALL'] });
  assert.deepEqual(daemon.args, ['run', '--config', '/etc/socksgate/config.yaml']);
  const r = cli([...withConfig(daemon.args), '--help']);
  assert.equal(r.status, 0, r.stderr);
  const app = pod.spec.containers.find((c) => c.name === 'app');
  assert.notEqual(app?.securityContext.runAsUser, 10001, 'the application must not run as the excluded uid');
});
