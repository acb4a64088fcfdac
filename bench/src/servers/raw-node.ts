/**
 * What a naive server does: `node:http` with no library, each event serialized once into a Buffer and that Buffer
 * written to every response as it is published: one `res.write` per event and connection. No heartbeat, no
 * backpressure handling, no history. The baseline ratios are taken against is raw-batched.ts.
 */
import { createServer, type ServerResponse } from 'node:http';
import { answer, broadcast, listen, parseBroadcast, stats } from './contract.js';

const clients = new Set<ServerResponse>();

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/sse') {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
    return;
  }
  if (req.method === 'POST' && path === '/broadcast') {
    answer(
      res,
      broadcast(parseBroadcast(req.url), (data) => {
        const frame = Buffer.from(`data: ${data}\n\n`);
        for (const client of clients) client.write(frame);
      }),
    );
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    answer(res, stats(req.url, clients.size));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
