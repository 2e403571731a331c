/**
 * The entry of dist/run.js, the bundle a `socksgate run` line starts with: the daemon and what it
 * imports, without yargs or the other commands (doctor, exec, demo, rules, status…), so a start
 * reads, deserialises and keeps less code. dist/main.js (scripts/main-loader.cjs) calls this and
 * loads dist/socksgate.js (src/main.ts, every command) only when the line needs yargs.
 */
export { runWithoutYargs } from './cli/run.js';
