import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STREAM_KEY_HEADER } from '@ssekit/core';

/** Options of {@link startBalancer}. */
export interface BalancerOptions {
  /** The instances, as base URLs (`http://127.0.0.1:3000`). At least two. */
  targets: readonly string[];
  /** Default 0: a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
}

/** A running balancer. */
export interface Balancer {
  /** `http://127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  /** Stops accepting, cuts the open requests (their clients resume elsewhere) and closes. */
  close(): Promise<void>;
}

/** How many stream keys the balancer remembers the instance of; the oldest is forgotten first. */
const REMEMBERED_STREAMS = 10_000;

/**
 * A tiny HTTP load balancer for the demo's two instances: each request goes to the next instance in turn, except a
 * request that carries a resumable stream's key, which goes to an instance other than the one that started the
 * stream. So a dropped chat answer always resumes on the other instance, which is what the demo wants to show; a
 * real balancer may send it anywhere, and any instance on the Redis broker can serve it. Streams pass through as
 * they arrive (no buffering), and a client that goes away takes its upstream request with it.
 */
export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const targets = options.targets.map((target) => new URL(target));
  if (targets.length < 2) throw new TypeError('A balancer needs at least two targets.');
  const agent = new http.Agent({ keepAlive: true });
  const startedOn = new Map<string, number>();
  let turn = 0;

  const server = http.createServer((req, res) => {
    const key = req.headers[STREAM_KEY_HEADER];
    const starter = typeof key === 'string' ? startedOn.get(key) : undefined;
    const index = starter === undefined ? turn++ % targets.length : (starter + 1) % targets.length;
    const target = targets[index] as URL;
    const upstream = http.request(
      { agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const started = answer.headers[STREAM_KEY_HEADER];
        if (key === undefined && typeof started === 'string') {
          startedOn.set(started, index);
          if (startedOn.size > REMEMBERED_STREAMS) startedOn.delete(startedOn.keys().next().value as string);
        }
        const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = answer.headers;
        res.writeHead(answer.statusCode ?? 502, headers);
        // An SSE head goes out at once, before the first event.
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('aborted', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'BAD_GATEWAY', message: `The instance at ${target.origin} did not answer.` }));
    });
    // The client left (a dropped connection): so does the request to the instance, which sees its reader go.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
