/**
 * The baseline: `node:http` with no library. Each event is serialized once into a Buffer and that Buffer is written
 * to every response. No heartbeat, no backpressure handling, no history: the physical limit of this stack.
 */
import { createServer, type ServerResponse } from 'node:http';
import { broadcast, listen, parseBroadcast, stats } from './contract.js';

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
    const result = broadcast(parseBroadcast(req.url), (data) => {
      const frame = Buffer.from(`data: ${data}\n\n`);
      for (const client of clients) client.write(frame);
    });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result));
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats(req.url, clients.size)));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
