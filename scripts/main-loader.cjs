// dist/main.js, the bin (scripts/build.mjs writes it with src/main.ts's shebang above this line).
// A `run` line starts with dist/run.js (src/main-run.ts: the daemon without yargs or the other
// commands); any other line, or a `run` line only yargs reads, with dist/socksgate.js (src/main.ts,
// every command). Each is compiled with V8's code cache made at build time from a start of
// `socksgate run` (dist/NAME.cache): start-up then skips parsing and compiling the bundle and the
// functions a start runs. V8 rejects a cache made by another node version or with other V8 flags
// (`node [flags] main.js`); the bundle is then compiled as if there were none. CommonJS
// (dist/package.json), so no ESM loader starts either.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const { Script } = require('node:vm');

/** Runs dist/`name` (a bundle in the CommonJS loader's wrapper, scripts/build.mjs) and answers its exports. */
function load(name) {
  const file = path.join(__dirname, name);
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache (a build that could not start the daemon to make one): compiled from source.
  }
  // One read of the whole file, decoded as Latin-1: the build checks the bundle is ASCII (esbuild
  // escapes the rest), and a utf8 read went in 8 KiB reads through a decoder.
  const script = new Script(readFileSync(file).latin1Slice(), { filename: file, cachedData });
  cachedData = undefined;
  // scripts/build.mjs names the bundle whose cache it makes from this start.
  if (process.env.SOCKSGATE_WRITE_CODE_CACHE === name) process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
  const bundle = { exports: {} };
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, __dirname);
  return bundle.exports;
}

const argv = process.argv.slice(2);
// A rejection ends the process with its stack, as an unhandled rejection (as src/main.ts's do).
if (argv[0] === 'run') void load('run.js').runWithoutYargs(argv.slice(1)).then((ran) => ran || load('socksgate.js'));
else load('socksgate.js');
