// UDP echo load for the benchmark's UDP figure (plain JS: run with node in the client namespace).
//
//   node udp-echo-load.mjs --mode rate --host 198.51.100.2 --port 7001 [--seconds 5] [--window 64] [--size 512]
//   node udp-echo-load.mjs --mode rtt  --host 198.51.100.2 --port 7001 [--count 2000] [--size 512]
//   both: [--deadline-ms 60000]
//
// One connect()ed UDP socket, so a reply from any other source than the echo server (e.g. a
// socksifier answering from its own listener) is dropped by the kernel and shows as loss. Each
// datagram carries a sequence number in its first 4 bytes. Before measuring, one ping-pong (up to
// 5 tries, 1 s each) sets up the proxy's UDP association, so its cost is reported apart (setupMs).
//   rate: keeps `window` datagrams outstanding for `seconds`; an echo frees its slot for the next
//         datagram, one unanswered after 500 ms counts as lost and frees its slot too (a late
//         echo then only counts as late). Prints echoes, echoes/s, sent, lost, late.
//   rtt:  `count` sequential ping-pongs, 1 s timeout each. Prints median, p90, p99 and min in ms.
// Prints one JSON line on stdout. Exits by itself (status 3) after --deadline-ms in any case.
import dgram from 'node:dgram';

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const mode = opt('mode');
const host = opt('host');
const port = Number(opt('port'));
const seconds = Number(opt('seconds', '5'));
const windowSize = Number(opt('window', '64'));
const size = Number(opt('size', '512'));
const count = Number(opt('count', '2000'));
const deadlineMs = Number(opt('deadline-ms', '60000'));
const LOSS_MS = 500;
const RTT_TIMEOUT_MS = 1000;
if (
  (mode !== 'rate' && mode !== 'rtt') ||
  !host ||
  !(port > 0 && port < 65536) ||
  !(seconds >= 0.5 && seconds <= 60) ||
  !(Number.isInteger(windowSize) && windowSize >= 1 && windowSize <= 1024) ||
  !(Number.isInteger(size) && size >= 8 && size <= 1400) ||
  !(Number.isInteger(count) && count >= 1 && count <= 100_000) ||
  !(deadlineMs > 0)
) {
  console.error('usage: udp-echo-load.mjs --mode rate|rtt --host H --port P [--seconds S ≤ 60] [--window W ≤ 1024] [--size 8..1400] [--count N ≤ 100000] [--deadline-ms MS]');
  process.exit(2);
}

const deadline = setTimeout(() => {
  console.error(`udp-echo-load: deadline of ${deadlineMs} ms reached`);
  process.exit(3);
}, deadlineMs);
deadline.unref();

const socket = dgram.createSocket('udp4');
socket.on('error', (e) => {
  console.error(`udp-echo-load: ${e.message}`);
  process.exit(1);
});
await new Promise((resolve) => socket.connect(port, host, resolve));

let seq = 0;
function send() {
  const buf = Buffer.alloc(size, 0x5a);
  buf.writeUInt32BE(seq, 0);
  socket.send(buf);
  return seq++;
}

/** Called with (seq, now) for every datagram of the right size that comes back. */
let onEcho = () => {};
socket.on('message', (msg) => {
  if (msg.length === size) onEcho(msg.readUInt32BE(0), performance.now());
});

/** One ping-pong: its round trip in ms, or undefined after timeoutMs. */
function ping(timeoutMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const mine = send();
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    onEcho = (s, now) => {
      if (s !== mine) return; // a late echo of an earlier ping
      clearTimeout(timer);
      resolve(now - t0);
    };
  });
}

async function setup() {
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) if ((await ping(1000)) !== undefined) return performance.now() - t0;
  console.error(`udp-echo-load: no echo from ${host}:${port} in 5 tries`);
  process.exit(1);
}

function rate(setupMs) {
  return new Promise((resolve) => {
    /** seq → send time, oldest first (Map keeps insertion order). */
    const outstanding = new Map();
    let echoes = 0;
    let lost = 0;
    let late = 0;
    let sent = 0;
    let running = true;
    const next = () => {
      outstanding.set(send(), performance.now());
      sent++;
    };
    onEcho = (s) => {
      if (!outstanding.delete(s)) {
        late++;
        return;
      }
      echoes++;
      if (running) next();
    };
    const sweep = setInterval(() => {
      const old = performance.now() - LOSS_MS;
      for (const [s, t] of outstanding) {
        if (t > old) break;
        outstanding.delete(s);
        lost++;
        if (running) next();
      }
    }, 50);
    const t0 = performance.now();
    for (let i = 0; i < windowSize; i++) next();
    setTimeout(() => {
      running = false;
      const elapsed = (performance.now() - t0) / 1000;
      clearInterval(sweep);
      resolve({ mode: 'rate', seconds: elapsed, window: windowSize, size, echoes, perSecond: echoes / elapsed, sent, lost, late, inFlight: outstanding.size, setupMs });
    }, seconds * 1000);
  });
}

async function rtt(setupMs) {
  const ms = [];
  for (let i = 0; i < count; i++) {
    const r = await ping(RTT_TIMEOUT_MS);
    if (r !== undefined) ms.push(r);
  }
  ms.sort((a, b) => a - b);
  const at = (q) => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] : null);
  return { mode: 'rtt', count, size, ok: ms.length, lost: count - ms.length, medianMs: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), minMs: at(0), setupMs };
}

const setupMs = await setup();
const result = mode === 'rate' ? await rate(setupMs) : await rtt(setupMs);
console.log(JSON.stringify(result));
socket.close();
process.exit(0);
