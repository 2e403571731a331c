import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ADDR } from './netns-lab.js';

/** Where Dante's daemon is, if installed (it lives in sbin, often outside a user's PATH). */
export function findDante(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.map((d) => path.join(d, 'danted')).find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const DANTE_PORT = 1080;

/** A Dante config of the demo's own, never the host's /etc/danted.conf. */
export function writeDanteConfig(dir: string): string {
  const file = path.join(dir, 'danted.conf');
  fs.writeFileSync(
    file,
    [
      `logoutput: ${path.join(dir, 'danted.log')}`,
      `internal: ${DEMO_ADDR.proxyInside} port = ${DANTE_PORT}`,
      `external: ${DEMO_ADDR.proxyOutside}`,
      'socksmethod: none',
      'clientmethod: none',
      'user.privileged: root',
      'user.unprivileged: nobody',
      'client pass { from: 0/0 to: 0/0 }',
      'socks pass { from: 0/0 to: 0/0 log: connect disconnect }',
      '',
    ].join('\n'),
  );
  return file;
}

/** A one-page web server for the "internet" namespace; it tells who connected to it. */
export const WEB_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('Hello from the demo internet (${DEMO_ADDR.internet}). You connected from ' + req.socket.remoteAddress + '.\\n');
}).listen(80, '${DEMO_ADDR.internet}');
`;
