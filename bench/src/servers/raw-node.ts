/**
 * What a naive server does: `node:http` with no library, each event serialized once into a Buffer and that Buffer
 * written to every response as it is published: one `res.write` per event and connection. No heartbeat, no
 * backpressure handling, no history. The baseline ratios are taken against is raw-batched.ts.
 */
import type { ServerResponse } from 'node:http';
import { openRawStream, serveContract } from './contract.js';

const clients = new Set<ServerResponse>();

serveContract({
  open: (_req, res) => openRawStream(res, clients),
  publish: (data) => {
    const frame = Buffer.from(`data: ${data}\n\n`);
    for (const client of clients) client.write(frame);
  },
  connections: () => clients.size,
});
