/** The runner's few HTTP requests to a server under test: stats, broadcast triggers and stall probes. */
import { Agent, request } from 'node:http';
import type { ServerStats } from '../servers/contract.js';

const TIMEOUT_MS = 300_000;

export interface Answer<T> {
  status: number;
  body: T;
  /** Round trip in ms. */
  ms: number;
}

/** One request on 127.0.0.1; rejects on a non-2xx answer or after a (generous) time limit. */
export function call<T>(port: number, method: 'GET' | 'POST', path: string, agent?: Agent): Promise<Answer<T>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, method, path, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString();
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new Error(`${method} ${path} answered ${status}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve({ status, body: JSON.parse(text) as T, ms });
        } catch {
          reject(new Error(`${method} ${path} answered non-JSON: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** A kept-alive connection for `/stats`, so a probe's round trip is the server's latency, not a TCP handshake. */
export function statsAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

/**
 * `GET /stats` on the kept-alive connection. A server closes an idle kept-alive connection after its own timeout
 * (5 s in node:http), which can race with the next request: that request is retried once on a new connection, and
 * the round trip counts from the first attempt.
 */
export async function getStats(
  port: number,
  agent: Agent,
  gc = false,
  eld?: 'start' | 'end',
): Promise<Answer<ServerStats>> {
  const query = [gc ? 'gc=1' : '', eld === undefined ? '' : `eld=${eld}`].filter(Boolean).join('&');
  const path = query === '' ? '/stats' : `/stats?${query}`;
  const started = performance.now();
  try {
    return await call<ServerStats>(port, 'GET', path, agent);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw error;
    const answer = await call<ServerStats>(port, 'GET', path, agent);
    return { ...answer, ms: performance.now() - started };
  }
}
