import type http from 'node:http';
import { createStream, type SseStream } from '@ssekit/core';
import { beforeEach } from 'vitest';
import type { RunningHttp2 } from './http2.js';
import { captureLogger } from './logger.js';
import { type StreamServer, serveStreams } from './stream-server.js';
import { closeAfterEach } from './teardown.js';

/*
 * The setup the stream specs of @ssekit/core share (packages/core/test: head, stream, clock, writer, pipe,
 * last-event-id): one HTTP/1 stream server and one HTTP/2 server per test, closed after it. Importing this module
 * registers the hooks in the importing test file.
 */

/** The logger the streams of `open()` report to; cleared after each test. */
export const quiet = captureLogger();
/** The stream server of the current test (from `open()` or `useServer()`). */
export let server: StreamServer | undefined;
/** The HTTP/2 server of the current test (from `useH2()`). */
export let h2: RunningHttp2 | undefined;

beforeEach(() => {
  quiet.clear();
});

/** Closes what a test opened, newest first: its clients before its servers. */
export const teardown = closeAfterEach();

/** Makes `running` the current test's stream server, closed after the test (its streams first). */
export function useServer(running: StreamServer): StreamServer {
  server = running;
  teardown.defer(async () => {
    for (const stream of running.streams) stream.close();
    await running.close();
    if (server === running) server = undefined;
  });
  return running;
}

/** Makes `running` the current test's HTTP/2 server, closed after the test. */
export function useH2(running: RunningHttp2): RunningHttp2 {
  h2 = running;
  teardown.defer(async () => {
    await running.close();
    if (h2 === running) h2 = undefined;
  });
  return running;
}

/** A server whose every request opens a stream with `options`; `onOpen` may send or pipe. */
export async function open(
  options: Parameters<typeof createStream>[2] = {},
  onOpen?: (stream: SseStream, req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<StreamServer> {
  return useServer(
    await serveStreams((req, res) => {
      const stream = createStream(req, res, { heartbeat: false, logger: quiet, ...options });
      onOpen?.(stream, req, res);
      return stream;
    }),
  );
}
