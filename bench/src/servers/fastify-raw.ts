/**
 * The floor of Fastify itself: a hijacked Fastify reply held open, and the raw node:http broadcast (one Buffer per
 * event written to every response).
 */
import type { ServerResponse } from 'node:http';
import Fastify from 'fastify';
import { announce, broadcast, parseBroadcast, stats } from './contract.js';

const clients = new Set<ServerResponse>();

const app = Fastify({ logger: false });
app.get('/sse', (_req, reply) => {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  clients.add(res);
  res.on('close', () => clients.delete(res));
});
app.post('/broadcast', async (req) =>
  broadcast(parseBroadcast(req.url), (data) => {
    const frame = Buffer.from(`data: ${data}\n\n`);
    for (const client of clients) client.write(frame);
  }),
);
app.get('/stats', async (req) => stats(req.url, clients.size));

await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server);
