// How long a SOCKS5 server takes to answer a username/password login (RFC 1929), measured on a
// link with no delay (run it in the server's namespace). Plain JS: run with node.
//
//   node socks-login-time.mjs --host 192.0.2.1 --port 1090 --user U --pass P [--count 10]
//
// Each try: connect, offer method 2, wait for the method reply, then time from writing the login
// to reading its reply. Prints the median in ms on stdout ("login-ms 12.3"). Bounded: 5 s per try.
import net from 'node:net';

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const host = opt('host');
const port = Number(opt('port'));
const user = Buffer.from(opt('user', ''));
const pass = Buffer.from(opt('pass', ''));
const count = Math.min(50, Number(opt('count', '10')));

function once() {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 5000);
    let stage = 'method';
    let buf = Buffer.alloc(0);
    let t0 = 0n;
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('connect', () => s.write(Buffer.from([5, 1, 2])));
    s.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      if (stage === 'method') {
        if (buf[1] !== 2) return reject(new Error(`method reply ${buf[1]}`));
        buf = buf.subarray(2);
        stage = 'login';
        t0 = process.hrtime.bigint();
        s.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
      } else {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        clearTimeout(timer);
        s.destroy();
        if (buf[1] !== 0) reject(new Error(`login refused (${buf[1]})`));
        else resolve(ms);
      }
    });
  });
}

const times = [];
for (let i = 0; i < count; i++) times.push(await once());
times.sort((a, b) => a - b);
const mid = Math.floor(times.length / 2);
const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
console.log(`login-ms ${median.toFixed(3)}`);
