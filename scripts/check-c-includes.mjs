// Fails (exit 1) when the addon's C/C++ files include each other in a circle. A header and its
// .c/.cc are one unit, so a circle through what the files call is found too. dependency-cruiser
// checks the TypeScript; this is the same rule for src/native.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../src/native/', import.meta.url).pathname;
const unitOf = (file) => {
  const base = file.replace(/\.(c|cc|h)$/, '');
  return ['.c', '.cc'].some((ext) => existsSync(join(dir, base + ext))) ? base : file;
};
const edges = new Map();
for (const file of readdirSync(dir).filter((f) => /\.(c|cc|h)$/.test(f))) {
  const from = unitOf(file);
  if (!edges.has(from)) edges.set(from, new Set());
  for (const [, header] of readFileSync(join(dir, file), 'utf8').matchAll(/#include\s+"([^"]+)"/g)) {
    const to = unitOf(header);
    if (to !== from) edges.get(from).add(to);
  }
}
const state = new Map();
const cycles = [];
const visit = (unit, path) => {
  state.set(unit, 'open');
  for (const next of edges.get(unit) ?? []) {
    if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
    else if (!state.has(next)) visit(next, [...path, next]);
  }
  state.set(unit, 'done');
};
for (const unit of edges.keys()) if (!state.has(unit)) visit(unit, [unit]);
for (const cycle of cycles) console.error(`include cycle in src/native: ${cycle}`);
if (cycles.length) process.exit(1);
console.log(`✔ no include cycle in src/native (${edges.size} units)`);
