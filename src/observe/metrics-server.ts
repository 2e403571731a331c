import { createServer, type Server } from 'node:http';
import { formatAddr, type SocksAddr } from '../core/addr.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from './metrics.js';

/** Serves GET /metrics in the Prometheus text format; nothing else. */
export async function serveMetrics(metrics: Metrics, at: SocksAddr, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: at.host, port: at.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics server error'));
  log.info({ metrics: `http://${formatAddr(at)}/metrics` }, 'serving metrics');
  return server;
}
