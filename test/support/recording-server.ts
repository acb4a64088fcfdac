import type http from 'node:http';
import { type Running, serve } from './server.js';
import { waitFor } from './wait.js';

/** A request as the server received it, body included. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A `node:http` server that records every request before its handler answers it. */
export interface RecordingServer extends Running {
  requests: RecordedRequest[];
  /** Waits until at least `count` requests arrived; returns them all. */
  waitForRequests(count: number, timeout?: number): Promise<RecordedRequest[]>;
}

/**
 * Starts a server on 127.0.0.1 whose `handler` answers each request once its body has been read; `index` is the
 * request's position (0 for the first). Tests use it to script what a server says to a client, request by request.
 */
export async function serveRecorded(
  handler: (req: RecordedRequest, res: http.ServerResponse, index: number) => void,
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const running = await serve((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      handler(recorded, res, requests.length - 1);
    });
  });
  return {
    ...running,
    requests,
    async waitForRequests(count, timeout = 5000) {
      await waitFor(() => requests.length >= count, `${count} requests (got ${requests.length})`, timeout);
      return requests;
    },
  };
}

/** Writes an SSE response head (200, `text/event-stream`) plus `extra` headers. */
export function sseHead(res: http.ServerResponse, extra: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...extra });
}
