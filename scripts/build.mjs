// Builds dist/: the CLI bundled into one entry file plus a chunk per lazily loaded command, so
// start-up reads a handful of files instead of resolving and compiling ~150 modules (~50 ms).
// Type checking is tsc's job (`npm run typecheck`, run first by `npm run build`).
import { build } from 'esbuild';
import fs from 'node:fs';

fs.rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Loaded with require() at run time (pino starts worker threads by file name) or only on demand.
  external: ['pino', 'pino-pretty', 'prom-client', 'yaml'],
  // Bundled CommonJS dependencies (dns-packet) call require() for Node's own modules.
  banner: { js: "import { createRequire as __socksgateRequire } from 'node:module'; const require = __socksgateRequire(import.meta.url);" },
  logLevel: 'warning',
});
