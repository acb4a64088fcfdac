/**
 * The baseline every ratio is taken against: `node:http` with no library, batching the way ssekit does. Each event
 * is framed once; what one event-loop turn published is joined once (one `Buffer.concat`) and written to every
 * response with one `res.write` per response, from a `setImmediate` after the turn. No heartbeat, no backpressure
 * handling, no history: the least a server has to do to deliver a broadcast on this stack.
 */
import { createServer, type ServerResponse } from 'node:http';
import { answer, broadcast, listen, parseBroadcast, stats } from './contract.js';

const clients = new Set<ServerResponse>();
let pending: Buffer[] = [];

function flush(): void {
  const frames = pending;
  pending = [];
  const chunk = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
  for (const client of clients) client.write(chunk);
}

function publish(data: string): void {
  if (pending.length === 0) setImmediate(flush);
  pending.push(Buffer.from(`data: ${data}\n\n`));
}

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
    answer(res, broadcast(parseBroadcast(req.url), publish));
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    answer(res, stats(req.url, clients.size));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
