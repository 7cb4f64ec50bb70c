// Built-in probes: a TCP connect and an HTTP GET, as conveniences beside
// command checks. Both report like a command: status 0 healthy, else why not.
// node:http is imported on first use: most supervisors never probe over HTTP.
import net from 'node:net';

export interface ProbeResult { status: number | null; timedOut: boolean; durationMs: number; output: string }

/** Healthy when HOST:PORT accepts a connection within the timeout. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const sock = net.createConnection({ host, port });
    const done = (status: number | null, output: string, timedOut = false) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ status, timedOut, durationMs: Date.now() - started, output });
    };
    const timer = setTimeout(() => done(null, `no connection to ${host}:${port} within ${timeoutMs} ms`, true), timeoutMs);
    sock.once('connect', () => done(0, `${host}:${port} accepted`));
    sock.once('error', (err) => done(1, `${host}:${port}: ${err.message}`));
  });
}

/** Healthy when GET url answers 2xx or 3xx within the timeout. */
export async function httpProbe(url: string, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  const { default: http } = await import('node:http');
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number | null, output: string, timedOut = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ status, timedOut, durationMs: Date.now() - started, output });
    };
    const req = http.get(url, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done(code >= 200 && code < 400 ? 0 : 1, `GET ${url}: HTTP ${code}`);
    });
    const timer = setTimeout(() => done(null, `GET ${url}: no answer within ${timeoutMs} ms`, true), timeoutMs);
    req.once('error', (err) => done(1, `GET ${url}: ${err.message}`));
  });
}
