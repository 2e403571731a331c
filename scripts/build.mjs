// Builds dist/: the CLI bundled into CommonJS files, so start-up reads one file instead of resolving
// and compiling ~150 modules (~50 ms), without the ESM loader; lazily imported commands and
// features become functions that run only when needed. Two bundles: dist/socksgate.js, every
// command (src/main.ts), and dist/run.js, what a plain `run` line needs (src/main-run.ts: no yargs,
// no other command; ~30% less to read and keep). dist/main.js, the bin (scripts/main-loader.cjs),
// runs them with V8's code cache, made here by starting `socksgate run` once per bundle. Type
// checking is tsc's job (`npm run typecheck`, run first by `npm run build`).
import { spawn, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import fs from 'node:fs';
import net from 'node:net';

fs.rmSync('dist', { recursive: true, force: true });
const sectionDefaults = await configSectionDefaults();
const BUNDLES = { 'src/main.ts': 'dist/socksgate.js', 'src/main-run.ts': 'dist/run.js' };
for (const [entry, outfile] of Object.entries(BUNDLES)) await bundleOf(entry, outfile);
fs.writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
// The shebang goes to the bin (the node flags it gives are src/main.ts's); each bundle is wrapped.
const shebang = /^#!.*\n/.exec(fs.readFileSync('dist/socksgate.js', 'utf8'))[0];
for (const outfile of Object.values(BUNDLES)) {
  const bundle = fs.readFileSync(outfile, 'utf8');
  const head = bundle.startsWith('#!') ? /^#!.*\n/.exec(bundle)[0].length : 0;
  // dist/main.js reads the bundle as Latin-1, which is only right for ASCII (esbuild's default
  // charset escapes everything else).
  if (/[^\x00-\x7f]/.test(bundle)) throw new Error(`${outfile} is not ASCII: dist/main.js could not read it as Latin-1`);
  // In the shebang's place, the wrapper Node's CommonJS loader puts around a module, on a line of
  // its own so that the source map's line numbers still hold (a bundle without a shebang gets an
  // empty line's worth: its map was made for line 1, hence the wrapper's newline only there).
  // Written here rather than added by dist/main.js: that concatenation made V8 copy the source once
  // more as it compiled (~2 ms of start-up).
  fs.writeFileSync(outfile, `(function (exports, require, module, __filename, __dirname) {${head ? '\n' : ''}${bundle.slice(head)}\n})`);
}
fs.writeFileSync('dist/main.js', shebang + fs.readFileSync('scripts/main-loader.cjs', 'utf8'), { mode: 0o755 });
const nodeFlags = shebang.replace(/^#!\/usr\/bin\/env -S node ?/, '').trim().split(/\s+/).filter(Boolean);
// dist/run.js from a plain `run` line; dist/socksgate.js from one only yargs reads (a camelCase
// flag), so its cache too holds yargs and the daemon's start.
await writeCodeCache(nodeFlags, 'run.js', ['--log-level', 'info']);
await writeCodeCache(nodeFlags, 'socksgate.js', ['--logLevel', 'info']);

async function bundleOf(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // A third less source to read, compile and keep in the heap (~3 MiB of idle RSS); names stay, so
    // stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    // Loaded with require() only on demand: pretty logs, --metrics, a YAML config file.
    external: ['pino-pretty', 'prom-client', 'yaml'],
    // The sources are ES modules that find files (the addon, those packages) from import.meta.url.
    // Intl.Segmenter: yargs' help layout (string-width, wrap-ansi) makes three when its modules load;
    // each loads ICU's break rules, ~2.5 MiB of RSS for help text `run` never lays out. The stand-in
    // makes the real one at the first segment().
    // process.stdout.columns: yargs reads it as its modules load, and asking makes process.stdout, a
    // stream (~5 ms of start-up); only a terminal has columns, so other stdouts are not asked.
    // The config sections' defaults (src/config/section-defaults.ts): a start then builds only the
    // schemas of the sections its config has.
    define: { __SOCKSGATE_SECTION_DEFAULTS__: JSON.stringify(sectionDefaults), 'import.meta.url': '__socksgateUrl', 'Intl.Segmenter': '__socksgateLazySegmenter', 'process.stdout.columns': '__socksgateStdout.columns' },
    banner: {
      js: [
        "const __socksgateUrl = require('node:url').pathToFileURL(__filename).href;",
        "const __socksgateStdout = { get columns() { return require('node:tty').isatty(1) ? process.stdout.columns : undefined; } };",
        'class __socksgateLazySegmenter { #args; #real; constructor(...args) { this.#args = args; } segment(text) { return (this.#real ??= new Intl.Segmenter(...this.#args)).segment(text); } resolvedOptions() { return (this.#real ??= new Intl.Segmenter(...this.#args)).resolvedOptions(); } }',
      ].join('\n'),
    },
    plugins: [
      lazyAssert(),
      pinoOnMainThread(),
      lazyPino(),
      lazyBuiltins({
        'node:crypto': ['createHash', 'timingSafeEqual', 'randomInt', 'randomBytes'],
        'node:dns/promises': ['lookup'],
        'node:tty': ['isatty'],
        'node:net': ['BlockList', 'Socket', 'connect', 'createServer'],
        'node:dgram': ['createSocket'],
      }),
    ],
    logLevel: 'warning',
  });
}

/** The defaults of every config section, as JSON, from the schemas themselves (run once here). */
async function configSectionDefaults() {
  const { outputFiles } = await build({
    stdin: {
      contents: "import { SECTION_SCHEMAS } from './src/config/schema.ts'; import { sectionDefaultsJson } from './src/config/section-defaults.ts'; process.stdout.write(sectionDefaultsJson(SECTION_SCHEMAS));",
      resolveDir: '.',
      loader: 'ts',
    },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, ['-'], { input: outputFiles[0].text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build: cannot compute the config sections' defaults:\n${r.stderr}`);
  JSON.parse(r.stdout);
  return r.stdout;
}

/**
 * yargs and sonic-boom (pino's destination) import node:assert for checks that pass: loading it
 * (and the stderr stream its error class sets up) costs ~8 ms of start-up. This stand-in loads it
 * only when a check fails, so the error thrown is node:assert's own.
 */
function lazyAssert() {
  const contents = `
    let real;
    const load = () => (real ??= require('node:assert'));
    function assert(value, message) { if (!value) load().ok(value, message); }
    assert.ok = assert;
    assert.strictEqual = (a, b, message) => { if (!Object.is(a, b)) load().strictEqual(a, b, message); };
    assert.notStrictEqual = (a, b, message) => { if (Object.is(a, b)) load().notStrictEqual(a, b, message); };
    module.exports = new Proxy(assert, { get: (target, key) => (key in target ? target[key] : load()[key]) });
  `;
  return {
    name: 'lazy-assert',
    setup(b) {
      b.onResolve({ filter: /^(node:)?assert$/ }, (args) => (args.importer.includes('node_modules') ? { path: 'lazy-assert', namespace: 'lazy-assert' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({ contents, loader: 'js' }));
    },
  };
}

/**
 * pino loads worker_threads (and Node's worker internals with it, ~3 ms of start-up) as its modules
 * load: its tools module to read isMainThread, which decides how a logger running inside a pino
 * transport's worker behaves, and thread-stream for the Worker class of transports. socksgate's
 * bundle never runs in a worker thread (its workers are processes; pino-pretty runs as a stream in
 * the same thread), so for those two imports isMainThread is true and Worker loads the real module
 * when a transport makes one (socksgate makes none).
 */
function pinoOnMainThread() {
  const contents = `
    let real;
    function Worker(...args) { return new (real ??= require('node:worker_threads')).Worker(...args); }
    module.exports = { isMainThread: true, Worker };
  `;
  const importers = /node_modules[\\/](pino[\\/]lib[\\/]tools|thread-stream[\\/]index)\.js$/;
  return {
    name: 'pino-on-main-thread',
    setup(b) {
      b.onResolve({ filter: /^(node:)?worker_threads$/ }, (args) => (importers.test(args.importer) ? { path: 'pino-main-thread', namespace: 'pino-main-thread' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'pino-main-thread' }, () => ({ contents, loader: 'js' }));
    },
  };
}

/**
 * pino's modules, for src/core/log.ts's import: their top level (pino's serialisers, redaction,
 * sonic-boom…) ran as the bundle loaded, a seventh of socksgate's own start-up (CPU profiles), though the daemon's logger makes
 * its pino logger only at its first line (src/core/lazy-logger.ts). This stand-in loads them at
 * the first call of pino() or pino.destination(), the two log.ts makes.
 */
function lazyPino() {
  const contents = `
    let real;
    const load = () => (real ??= require('pino'));
    function pino(...args) { return load().pino(...args); }
    pino.destination = (...args) => load().destination(...args);
    module.exports = { pino };
  `;
  return {
    name: 'lazy-pino',
    setup(b) {
      b.onResolve({ filter: /^pino$/ }, (args) => (args.importer.includes('node_modules') || args.namespace === 'lazy-pino' ? undefined : { path: 'pino', namespace: 'lazy-pino' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-pino' }, () => ({ contents, loader: 'js', resolveDir: process.cwd() }));
    },
  };
}

/**
 * Node modules that socksgate's sources import at the top of modules a `run` start loads, for
 * functions called only later (if ever): crypto (SOCKS users' password hashes, DNS query ids),
 * dns/promises (names of upstreams and direct targets), tty (isatty, when a log's fd may be a
 * terminal), net and dgram (a flow that needs a Node socket, an upstream's first dial, the control
 * socket, UDP and DNS listeners: all after the redirect listeners listen). Loading crypto alone
 * costs ~10 ms of a start, net and the streams under it ~12 ms. Each is replaced, for imports from src/, by functions of the same names that load the
 * real module on their first call. A name not listed here fails the build ("No matching export").
 */
function lazyBuiltins(modules) {
  const standIn = (id, names) => [
    'let real;',
    `const load = () => (real ??= require(${JSON.stringify(id)}));`,
    // With `new` for a class (BlockList, Socket): what a constructor returns is what `new` gives.
    ...names.map((name) => `export function ${name}(...args) { return new.target ? new (load().${name})(...args) : load().${name}(...args); }`),
  ].join('\n');
  const filter = new RegExp(`^(${Object.keys(modules).map((id) => id.replace(/[/]/g, '\\/')).join('|')})$`);
  return {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter }, (args) => (args.importer.includes('node_modules') || args.namespace === 'lazy-builtin' ? undefined : { path: args.path, namespace: 'lazy-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: standIn(args.path, modules[args.path]), loader: 'js' }));
    },
  };
}

/**
 * Starts the bin once as `socksgate run` on a loopback port (no mark, no rules, no control socket)
 * with `flags`, stops it once it runs, and keeps what V8 compiled of dist/`name` as its .cache.
 * Without it (nothing may listen here, say) the bin still works, only compiling at every start.
 */
async function writeCodeCache(nodeFlags, name, flags) {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  const args = [...nodeFlags, 'dist/main.js', 'run', '--upstream', 'socks5://127.0.0.1:1', '--redirect', `127.0.0.1:${port}`, '--control', 'off', ...flags];
  const child = spawn(process.execPath, args, { env: { ...process.env, SOCKSGATE_WRITE_CODE_CACHE: name }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('"socksgate running"')) child.kill('SIGTERM');
  });
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const cacheFile = `dist/${name}.cache`;
  if (code !== 0 || !fs.existsSync(cacheFile)) {
    fs.rmSync(cacheFile, { force: true });
    console.warn(`build: no code cache for ${name} (the start that makes it exited with ${code}); dist/main.js compiles at every start:\n${out}`);
  }
}
