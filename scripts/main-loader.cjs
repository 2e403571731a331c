// dist/main.js, the bin (scripts/build.mjs writes it with src/main.ts's shebang above this line).
// It runs the bundle, dist/socksgate.js, compiled with V8's code cache made at build time from a
// start of `socksgate run` (dist/socksgate.js.cache): start-up then skips parsing and compiling
// the ~1 MB bundle and the functions a start runs (~50 ms of CPU). V8 rejects a cache made by
// another node version or with other V8 flags (`node [flags] main.js`); the bundle is then
// compiled as if there were none. CommonJS (dist/package.json), so no ESM loader starts either.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const { Script } = require('node:vm');

const file = path.join(__dirname, 'socksgate.js');
const cacheFile = `${file}.cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build that could not start the daemon to make one): compiled from source.
}
// The file is the bundle in the same wrapper as Node's CommonJS loader's (scripts/build.mjs), so
// the bundle sees the usual module variables.
const script = new Script(readFileSync(file, 'utf8'), { filename: file, cachedData });
cachedData = undefined;
// scripts/build.mjs sets this for the one start whose compiled code becomes the cache.
if (process.env.SOCKSGATE_WRITE_CODE_CACHE === '1') process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, __dirname);
