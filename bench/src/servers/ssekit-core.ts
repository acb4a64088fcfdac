/** ssekit without a framework: `node:http`, `createStream` and one hub (`hub.attach`, `hub.broadcast`). */
import { createServer } from 'node:http';
import { createHub, createStream } from '@ssekit/core';
import { resolveStreamOptions } from '@ssekit/core/adapter';
import { broadcast, heartbeatFromEnv, listen, parseBroadcast, stats } from './contract.js';

const hub = createHub();
const heartbeat = heartbeatFromEnv();
// Validated once, as the adapters do per route.
const streamOptions = resolveStreamOptions(heartbeat === undefined ? {} : { heartbeat });

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/sse') {
    void hub.attach(createStream(req, res, streamOptions));
    return;
  }
  if (req.method === 'POST' && path === '/broadcast') {
    const result = broadcast(parseBroadcast(req.url), (data) => {
      void hub.broadcast(data);
    });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(result));
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats(req.url, hub.size)));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
