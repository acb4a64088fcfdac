import type http from 'node:http';
import type { Hub, SseStream, StreamOptions } from '@ssekit/core';
import { openConnection, resolveConnectOptions } from '@ssekit/core/adapter';
import { type Running, serve } from './server.js';
import { waitFor } from './wait.js';

/** A server whose handler opens SSE streams; it keeps every stream it opened, in order. */
export interface StreamServer extends Running {
  /** The streams opened so far, oldest first (refused connections leave no entry). */
  streams: SseStream[];
  /** Waits until the `index`-th stream (0-based) was opened and returns it. */
  stream(index?: number, timeout?: number): Promise<SseStream>;
}

/**
 * Starts a `node:http` server on 127.0.0.1 whose handler is `open(req, res)`: it creates (and usually attaches) a
 * stream. Errors thrown by `open` are answered with their `statusCode` (or 500), like a framework would.
 */
export async function serveStreams(
  open: (req: http.IncomingMessage, res: http.ServerResponse) => SseStream | undefined | Promise<SseStream | undefined>,
): Promise<StreamServer> {
  const streams: SseStream[] = [];
  const running = await serve((req, res) => {
    Promise.resolve()
      .then(() => open(req, res))
      .then(
        (stream) => {
          if (stream !== undefined) streams.push(stream);
        },
        (error: { statusCode?: number; message?: string }) => {
          if (res.headersSent) {
            res.destroy();
            return;
          }
          res.statusCode = error?.statusCode ?? 500;
          res.end(String(error?.message));
        },
      );
  });
  return {
    ...running,
    streams,
    async stream(index = 0, timeout = 5000) {
      await waitFor(() => streams.length > index, `stream #${index} to open`, timeout);
      return streams[index] as SseStream;
    },
  };
}

/** Resolves with the stream's close reason once it has ended (at once if it already has). */
export async function closed(stream: SseStream, timeout = 5000): Promise<string> {
  await waitFor(() => stream.closed, 'the stream to close', timeout);
  return stream.closeReason as string;
}

/**
 * Serves `hub` the way the adapters do (`resolveConnectOptions` once, `openConnection` per request). The client id
 * comes from the `client` query parameter and the topics from `topics` (comma-separated), so a test picks them in
 * the URL: `${url}/?client=alice&topics=news,sport`. Refusals by status are answered with their `statusCode`.
 */
export async function serveHub(hub: Hub, options: StreamOptions = {}): Promise<StreamServer> {
  const route = resolveConnectOptions<http.IncomingMessage>({
    heartbeat: false,
    ...options,
    hub,
    clientId: (req) => query(req).get('client') ?? undefined,
    topics: (req) => query(req).get('topics')?.split(',') ?? [],
  });
  return serveStreams((req, res) => openConnection(hub, route, req, req, res));
}

function query(req: http.IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://localhost').searchParams;
}
