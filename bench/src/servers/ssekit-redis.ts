/**
 * ssekit with a Redis broker: `node:http` + core, the hub's broker from `createRedisBroker`. Two of these share one
 * Redis in the cross-instance part of the bench; the broadcast is published on one and reaches both.
 */
import { createServer } from 'node:http';
import { createHub, createStream } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { answer, broadcast, listen, parseBroadcast, stats } from './contract.js';

const url = process.env.BENCH_REDIS_URL;
if (url === undefined) throw new Error('BENCH_REDIS_URL is not set');
const hub = createHub({ broker: createRedisBroker({ url }) });
await hub.ready();

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/sse') {
    void hub.attach(createStream(req, res));
    return;
  }
  if (req.method === 'POST' && path === '/broadcast') {
    answer(
      res,
      broadcast(parseBroadcast(req.url), (data) => {
        hub.broadcast(data).catch((error: Error) => console.error(`broadcast rejected: ${error.message}`));
      }),
    );
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    answer(res, stats(req.url, hub.size));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
