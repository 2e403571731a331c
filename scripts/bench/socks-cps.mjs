// New SOCKS5 connections per second for the benchmark's proxy-inbound figure (plain JS: run with
// node in the client namespace). wrk cannot speak SOCKS, hence this.
//
//   node socks-cps.mjs --proxy-host 192.0.2.1 --proxy-port 1080 --host 198.51.100.2|web4.lab.test --port 80
//                      [--path /small.txt] [--concurrency 50] [--seconds 5]
//
// Each of `concurrency` loops repeats: connect to the SOCKS5 server, greeting (no-auth), wait for
// the method reply, CONNECT to host:port (an IPv4 address, or a name the server resolves), wait for the reply, one HTTP/1.1 GET with
// `Connection: close`, read to the end, close. The greeting and the CONNECT go in separate writes
// (microsocks cannot take them pipelined). A connection that fails or does not answer 200 within
// 5 s counts as an error; no loop starts a connection after `seconds`. Prints one JSON line:
// connections (completed with a 200), perSecond, errors, seconds (until the last one ended). Exits by itself (status 3) 30 s after it should have ended.
import net from 'node:net';

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const proxyHost = opt('proxy-host');
const proxyPort = Number(opt('proxy-port'));
const host = opt('host');
const port = Number(opt('port', '80'));
const path = opt('path', '/small.txt');
const concurrency = Number(opt('concurrency', '50'));
const seconds = Number(opt('seconds', '5'));
const octets = /^\d+\.\d+\.\d+\.\d+$/.test(host ?? '') ? host.split('.').map(Number) : undefined;
const isName = octets === undefined && /^[a-z0-9.-]{1,253}$/i.test(host ?? '');
if (
  !proxyHost ||
  !(proxyPort > 0 && proxyPort < 65536) ||
  !(isName || octets?.every((o) => o <= 255)) ||
  !(port > 0 && port < 65536) ||
  !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1000) ||
  !(seconds >= 0.5 && seconds <= 60)
) {
  console.error('usage: socks-cps.mjs --proxy-host H --proxy-port P --host IPv4|NAME [--port 80] [--path /] [--concurrency 1..1000] [--seconds 0.5..60]');
  process.exit(2);
}
setTimeout(() => {
  console.error('socks-cps: deadline');
  process.exit(3);
}, (seconds + 30) * 1000).unref();

const GREETING = Buffer.from([5, 1, 0]);
const DESTINATION = isName ? [3, host.length, ...Buffer.from(host, 'latin1')] : [1, ...octets];
const CONNECT = Buffer.from([5, 1, 0, ...DESTINATION, port >> 8, port & 0xff]);
const REQUEST = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
const TIMEOUT_MS = 5000;

/** One connection: resolves true when the response was a 200 read to its end. */
function once() {
  return new Promise((resolve) => {
    const s = net.connect({ host: proxyHost, port: proxyPort });
    let stage = 'method';
    let buf = Buffer.alloc(0);
    let status = '';
    const done = (ok) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), TIMEOUT_MS);
    s.on('error', () => done(false));
    s.on('connect', () => s.write(GREETING));
    s.on('end', () => done(stage === 'response' && status === '200'));
    s.on('data', (chunk) => {
      if (stage === 'response') {
        if (!status && chunk.length >= 12) status = chunk.toString('latin1', 9, 12);
        return;
      }
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (stage === 'method') {
        if (buf.length < 2) return;
        if (buf[0] !== 5 || buf[1] !== 0) return done(false);
        buf = buf.subarray(2);
        stage = 'reply';
        s.write(CONNECT);
      }
      // the CONNECT reply with an IPv4 bound address is 10 bytes (every server here answers so)
      if (stage === 'reply' && buf.length >= 10) {
        if (buf[1] !== 0) return done(false);
        stage = 'response';
        const rest = buf.subarray(10);
        if (rest.length >= 12) status = rest.toString('latin1', 9, 12);
        s.write(REQUEST);
      }
    });
  });
}

const start = performance.now();
const end = start + seconds * 1000;
let connections = 0;
let errors = 0;

async function loop() {
  while (performance.now() < end) {
    if (await once()) connections++;
    else errors++;
  }
}

await Promise.all(Array.from({ length: concurrency }, loop));
const measured = (performance.now() - start) / 1000;
console.log(JSON.stringify({ connections, perSecond: connections / measured, errors, seconds: measured }));
