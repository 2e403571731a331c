// DNS queries over UDP for the benchmark's DNS figure (plain JS: run with node).
//
//   node dns-load.mjs --server 127.0.0.53 --port 53 --zone bench.lab.test --names same|unique
//                     (--seconds 5 [--window 64] | --count 50) [--deadline-ms 60000]
//
// With --seconds: keeps `window` A queries in flight for that long and prints
// {"answered":N,"perSecond":N,"lost":N,"errors":N}; a query unanswered after 1 s is lost and its
// slot reused. With --count: asks one query at a time and prints {"medianMs":N,"p90Ms":N,...}.
// --names same asks cached.<zone> every time (answered from a cache once warm); unique asks
// q<n>-<run>.<zone>, a name nobody has asked before. Exits by itself after --deadline-ms.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const server = opt('server');
const port = Number(opt('port', '53'));
const zone = opt('zone');
const names = opt('names', 'same');
const seconds = Number(opt('seconds', '0'));
const count = Number(opt('count', '0'));
const window = Number(opt('window', '64'));
const deadlineMs = Number(opt('deadline-ms', '60000'));
if (!server || !zone || !['same', 'unique'].includes(names) || !((seconds > 0) !== (count > 0)) || !(window > 0 && window < 1000)) {
  console.error('usage: dns-load.mjs --server IP --port P --zone Z --names same|unique (--seconds S [--window W] | --count N)');
  process.exit(2);
}
setTimeout(() => {
  console.error(`dns-load: deadline of ${deadlineMs} ms reached`);
  process.exit(3);
}, deadlineMs).unref();

const run = Math.random().toString(36).slice(2, 8);
let serial = 0;
const nextName = () => (names === 'same' ? `cached.${zone}` : `q${serial++}-${run}.${zone}`);
const socket = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
/** id → send time (performance.now) of the queries in flight. */
const inFlight = new Map();
let nextId = 1;
let answered = 0;
let errors = 0;
let lost = 0;

function send() {
  let id = nextId;
  while (inFlight.has(id)) id = (id % 65535) + 1;
  nextId = (id % 65535) + 1;
  inFlight.set(id, performance.now());
  socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: nextName() }] }), port, server);
}

/** Called with the answer's latency in ms, or undefined when it was not a usable answer. */
let onAnswer = () => {};
socket.on('message', (msg) => {
  let packet;
  try {
    packet = dnsPacket.decode(msg);
  } catch {
    errors++;
    return;
  }
  const sentAt = inFlight.get(packet.id);
  if (sentAt === undefined) return; // a late answer to a query already counted lost
  inFlight.delete(packet.id);
  const ok = packet.rcode === 'NOERROR' && packet.answers.length > 0;
  if (ok) answered++;
  else errors++;
  onAnswer(ok ? performance.now() - sentAt : undefined);
});

function expire(now) {
  for (const [id, sentAt] of inFlight) {
    if (now - sentAt < 1000) continue;
    inFlight.delete(id);
    lost++;
    onAnswer(undefined);
  }
}

async function rate() {
  const t0 = performance.now();
  let stopping = false;
  onAnswer = () => {
    if (!stopping) send();
  };
  for (let i = 0; i < window; i++) send();
  const sweep = setInterval(() => expire(performance.now()), 100);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stopping = true;
  clearInterval(sweep);
  const elapsed = (performance.now() - t0) / 1000;
  return { answered, perSecond: answered / elapsed, lost, errors };
}

async function latency() {
  const times = [];
  for (let i = 0; i < count; i++) {
    const ms = await new Promise((resolve) => {
      onAnswer = resolve;
      send();
      setTimeout(() => expire(performance.now()), 1001).unref();
    });
    if (ms !== undefined) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const at = (q) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))] : NaN);
  return { medianMs: at(0.5), p90Ms: at(0.9), answered, lost, errors };
}

socket.bind(0, async () => {
  const result = seconds > 0 ? await rate() : await latency();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  socket.close();
  process.exit(0);
});
