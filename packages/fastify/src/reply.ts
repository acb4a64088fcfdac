import { SseError, type SseStream } from '@ssekit/core';
import type { FastifyReply } from 'fastify';

const NO_STREAM =
  'reply.sse is only available in the handler of a route declared with the `sse` option, e.g. ' +
  "app.get(path, { sse: true }, handler), after '@ssekit/fastify' is registered. This route has no `sse` option, " +
  'the stream is not open yet (a hook before the handler), or the request was answered without a stream (HEAD).';

const streams = new WeakMap<object, SseStream>();

/** The `reply.sse` getter: the open stream on SSE routes, a clear error anywhere else. */
export function replyStream(this: FastifyReply): SseStream {
  const stream = streams.get(this);
  if (stream === undefined) throw new SseError('SSE_NO_STREAM', NO_STREAM);
  return stream;
}

/** Makes `stream` the `reply.sse` of this reply. */
export function bindStream(reply: FastifyReply, stream: SseStream): void {
  streams.set(reply, stream);
}
