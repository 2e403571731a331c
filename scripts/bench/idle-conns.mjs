// Opens many idle TCP connections for the benchmark's memory figure (plain JS: run with node).
//
//   node idle-conns.mjs --host 198.51.100.2 --port 7777 --count 5000 [--concurrency 100] [--deadline-ms 120000]
//
// Each connection sends one byte and waits for the echo (so it is established end to end through
// the proxy), then stays idle. At most `concurrency` connections are being set up at once.
// Prints "open <ok> failed <n>" on stdout when every attempt has finished, then waits for a line
// on stdin (or stdin's end), closes everything, prints "closed" and exits. Exits by itself
// (status 3) after --deadline-ms in any case.
import net from 'node:net';

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const host = opt('host');
const port = Number(opt('port'));
const count = Number(opt('count'));
const concurrency = Number(opt('concurrency', '100'));
const deadlineMs = Number(opt('deadline-ms', '120000'));
if (!host || !(port > 0) || !(count > 0) || count > 8000 || !(concurrency > 0)) {
  console.error('usage: idle-conns.mjs --host H --port P --count N (N ≤ 8000) [--concurrency C] [--deadline-ms MS]');
  process.exit(2);
}

const deadline = setTimeout(() => {
  console.error(`idle-conns: deadline of ${deadlineMs} ms reached`);
  process.exit(3);
}, deadlineMs);
deadline.unref();

const sockets = [];
let started = 0;
let ok = 0;
let failed = 0;
let firstError = '';

function one() {
  if (started >= count) return;
  started++;
  const s = net.connect({ host, port });
  let done = false;
  const finish = (good, err) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (good) ok++;
    else {
      failed++;
      if (!firstError) firstError = err;
      s.destroy();
    }
    if (ok + failed === count) report();
    else one();
  };
  const timer = setTimeout(() => finish(false, 'timeout'), 15_000);
  s.on('error', (e) => finish(false, e.code ?? e.message));
  s.once('connect', () => s.write('x'));
  s.once('data', () => finish(true));
  sockets.push(s);
}

function report() {
  console.log(`open ${ok} failed ${failed}${firstError ? ` first-error ${firstError}` : ''}`);
  process.stdin.resume();
  process.stdin.once('data', closeAll);
  process.stdin.once('end', closeAll);
}

let closing = false;
function closeAll() {
  if (closing) return;
  closing = true;
  for (const s of sockets) s.destroy();
  console.log('closed');
  process.exit(0);
}

for (let i = 0; i < Math.min(concurrency, count); i++) one();
