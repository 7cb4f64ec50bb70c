// The optional metrics listener ([supervisor] metrics.listen): GET /metrics
// answers the Prometheus text; bound to loopback only (policy-keys.ts refuses
// other addresses) because it has no authentication. node:http is imported
// only when a policy asks for the listener.
import type http from 'node:http';

export async function serveMetrics(host: string, port: number, render: () => string): Promise<http.Server> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('durun serves only GET /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`metrics.listen ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}
