/**
 * fastify-sse-v2: `reply.sse(message)` per event and client, over a set of open replies. Loaded without its type
 * declarations: its `FastifyReply.sse` augmentation conflicts with @fastify/sse's in one TypeScript program.
 */
import { createRequire } from 'node:module';
import Fastify, { type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { announce, broadcast, parseBroadcast, stats } from './contract.js';

type SseReply = FastifyReply & { sse(message: { data?: string; comment?: string }): void };

const { FastifySSEPlugin } = createRequire(import.meta.url)('fastify-sse-v2') as {
  FastifySSEPlugin: FastifyPluginAsync;
};
const replies = new Set<SseReply>();

const app = Fastify({ logger: false });
await app.register(FastifySSEPlugin);
app.get('/sse', (_req, reply) => {
  const sse = reply as SseReply;
  // The first call writes the head and the retry hint; the comment makes no event.
  sse.sse({ comment: 'open' });
  replies.add(sse);
  reply.raw.on('close', () => replies.delete(sse));
});
app.post('/broadcast', async (req) =>
  broadcast(parseBroadcast(req.url), (data) => {
    for (const reply of replies) reply.sse({ data });
  }),
);
app.get('/stats', async (req) => stats(req.url, replies.size));

await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server);
