import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { BIG_SIZE, LAB_ADDR, SMALL_TXT } from '../constants.js';
import type { Lab, LabProcess } from '../types.js';
import { started } from './started.js';

export interface NginxHandle {
  port: number;
  proc: LabProcess;
  /** nginx access log: `$remote_addr $server_addr:$server_port "$request" $status $body_bytes_sent` per line. */
  accessLog: string;
  errorLog: string;
  /** Content of /small.txt. */
  smallText: string;
  /** /10mb.bin: size, sha256 (hex) and path on disk. */
  bigSize: number;
  bigSha256: string;
  bigPath: string;
  /** `http://<host>:<port><path>`, host defaults to 198.51.100.2 (IPv6 literal gets brackets). */
  url(pathname: string, host?: string): string;
  stop(): Promise<void>;
}

/**
 * nginx in the internet namespace listening on every address there (198.51.100.2, 203.0.113.10,
 * and [::] for 2001:db8:2::2 / 2001:db8:3::10): /small.txt, /10mb.bin, /ip (answers
 * "$remote_addr\n", the address the target saw), and the same files under /slow/ sent at 512 KiB/s
 * (a download that lasts: the server paces it, where a client's rate limit may read ahead).
 */
export async function startNginx(lab: Lab, opts: { port?: number; timeoutMs?: number } = {}): Promise<NginxHandle> {
  const port = opts.port ?? 80;
  const base = path.join(lab.dir, `nginx-${port}`);
  const www = path.join(base, 'www');
  const tmp = path.join(base, 'tmp');
  await fsp.mkdir(www, { recursive: true });
  await fsp.mkdir(tmp, { recursive: true });
  await fsp.writeFile(path.join(www, 'small.txt'), SMALL_TXT);
  const big = randomBytes(BIG_SIZE);
  const bigPath = path.join(www, '10mb.bin');
  await fsp.writeFile(bigPath, big);
  const bigSha256 = createHash('sha256').update(big).digest('hex');
  const accessLog = path.join(lab.dir, `nginx-${port}-access.log`);
  const errorLog = path.join(lab.dir, `nginx-${port}-error.log`);
  const conf = path.join(base, 'nginx.conf');
  await fsp.writeFile(
    conf,
    `# socksgate e2e lab
daemon off;
master_process on;
user root;
worker_processes 1;
pid ${base}/nginx.pid;
error_log ${errorLog} info;
events { worker_connections 1024; }
http {
  log_format sglab '$remote_addr $server_addr:$server_port "$request" $status $body_bytes_sent';
  access_log ${accessLog} sglab;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 5;
  server {
    listen ${port} reuseport;
    listen [::]:${port} ipv6only=on reuseport;
    server_name _;
    root ${www};
    location = /ip { default_type text/plain; return 200 "$remote_addr\\n"; }
    location /slow/ { alias ${www}/; limit_rate 512k; }
    location / { }
  }
}
`,
  );
  const proc = lab.spawn('internet', 'nginx', ['-e', errorLog, '-p', base, '-c', conf], { name: `nginx-${port}` });
  const endpoints: [string, number][] = [[LAB_ADDR.internet, port]];
  if (lab.ipv6) endpoints.push([LAB_ADDR.internet6, port]);
  const h = await started(lab, proc, 'internet', endpoints, opts.timeoutMs ?? 10_000, {
    port,
    accessLog,
    errorLog,
    smallText: SMALL_TXT,
    bigSize: BIG_SIZE,
    bigSha256,
    bigPath,
    url(pathname: string, host: string = LAB_ADDR.internet) {
      const h = host.includes(':') ? `[${host}]` : host;
      return `http://${h}${port === 80 ? '' : `:${port}`}${pathname}`;
    },
  });
  return h;
}
