/**
 * The baseline every ratio is taken against: `node:http` with no library, batching the way ssekit does. Each event
 * is framed once; what one event-loop turn published is joined once (one `Buffer.concat`) and written to every
 * response with one `res.write` per response, from a `setImmediate` after the turn. No heartbeat, no backpressure
 * handling, no history: the least a server has to do to deliver a broadcast on this stack.
 */
import type { ServerResponse } from 'node:http';
import { openRawStream, serveContract } from './contract.js';

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

serveContract({ open: (_req, res) => openRawStream(res, clients), publish, connections: () => clients.size });
