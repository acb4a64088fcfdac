/** ssekit without a framework: `node:http`, `createStream` and one hub (`hub.attach`, `hub.broadcast`). */
import { createServer } from 'node:http';
import { createHub, createStream } from '@ssekit/core';
import { answer, broadcast, heartbeatFromEnv, listen, parseBroadcast, stats } from './contract.js';

const hub = createHub();
const heartbeat = heartbeatFromEnv();
const streamOptions = heartbeat === undefined ? {} : { heartbeat };

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/sse') {
    void hub.attach(createStream(req, res, streamOptions));
    return;
  }
  if (req.method === 'POST' && path === '/broadcast') {
    answer(
      res,
      broadcast(parseBroadcast(req.url), (data) => {
        void hub.broadcast(data);
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
