import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

// Hop-by-hop headers: HTTP/2 forbids them (Node throws), and the stream's own head decides them on HTTP/1.
const NOT_COPIED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/**
 * Takes the raw response over from Fastify, just before the SSE head is written.
 *
 * - Headers that hooks set on the reply (`@fastify/cors` in `onRequest`, say) only reach the socket through
 *   `reply.send()`, which an SSE route never calls: they are copied onto the raw response first.
 * - `reply.hijack()` tells Fastify the response is not its to send: the handler returning early sends no empty 200,
 *   and the route's `handlerTimeout` is cleared, so neither cuts the stream.
 * - Fastify runs `onResponse` hooks and logs "request completed" on the raw response's `finish` (or `error`).
 *   A stream the client aborts never finishes, so its end is reported to Fastify on `close` instead.
 */
export function handOver(reply: FastifyReply): void {
  const raw = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined || NOT_COPIED.has(name.toLowerCase())) continue;
    raw.setHeader(name, value as string | number | readonly string[]);
  }
  reply.hijack();
  // One function for every response (`close` comes once): a closure per connection costs about 200 bytes.
  raw.on('close', reportEnd);
}

function reportEnd(this: ServerResponse): void {
  if (this.writableFinished) return;
  // Fastify's response listener takes `error` as "the response is over"; without an error object it runs the
  // onResponse hooks and logs the request as completed, like a stream that ended on the server's side. Fastify
  // listens only when it has something to report (a logger, onResponse hooks); with no listener at all, an
  // 'error' event would be thrown instead, so none is emitted then.
  if (this.listenerCount('error') > 0) this.emit('error');
}
