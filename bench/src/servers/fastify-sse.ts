/**
 * @fastify/sse: `{ sse: true }` route, `reply.sse.keepAlive()`, and a broadcast loop over the open contexts calling
 * `send({ data })` (the plugin has no broadcast of its own). Loaded without its type declarations: its
 * `FastifyReply.sse` augmentation conflicts with fastify-sse-v2's in one TypeScript program.
 */
import { createRequire } from 'node:module';
import Fastify, { type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { announce, broadcast, heartbeatFromEnv, parseBroadcast, stats } from './contract.js';

interface SseContext {
  keepAlive(): void;
  sendHeaders(): void;
  send(message: { data: unknown }): Promise<void>;
  onClose(callback: () => void): void;
}

const fastifySse = createRequire(import.meta.url)('@fastify/sse') as FastifyPluginAsync<{ heartbeatInterval?: number }>;
const contexts = new Set<SseContext>();
const heartbeat = heartbeatFromEnv();
const ignore = (): void => {};

const app = Fastify({ logger: false });
await app.register(fastifySse, heartbeat === undefined ? {} : { heartbeatInterval: heartbeat });
app.get('/sse', { sse: true } as object, async (_req, reply) => {
  const context = (reply as FastifyReply & { sse: SseContext }).sse;
  context.keepAlive();
  // The plugin writes the head lazily, on the first event: commit it now so the client sees the stream open.
  context.sendHeaders();
  reply.raw.flushHeaders();
  contexts.add(context);
  context.onClose(() => contexts.delete(context));
});
app.post('/broadcast', async (req) =>
  broadcast(parseBroadcast(req.url), (data) => {
    for (const context of contexts) context.send({ data }).catch(ignore);
  }),
);
app.get('/stats', async (req) => stats(req.url, contexts.size));

await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server);
