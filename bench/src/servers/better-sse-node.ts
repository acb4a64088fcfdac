/**
 * better-sse on plain `node:http` (it is framework-agnostic): `createSession` per request, one channel,
 * `channel.broadcast`. The same library calls as better-sse.ts, without Express's response objects.
 */
import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { answer, broadcast, heartbeatFromEnv, listen, parseBroadcast, stats } from './contract.js';

const channel = createChannel();
const heartbeat = heartbeatFromEnv();
const sessionOptions = heartbeat === undefined ? {} : { keepAlive: heartbeat };

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && path === '/sse') {
    createSession(req, res, sessionOptions).then(
      (session) => channel.register(session),
      (error: Error) => res.destroy(error),
    );
    return;
  }
  if (req.method === 'POST' && path === '/broadcast') {
    answer(
      res,
      broadcast(parseBroadcast(req.url), (data) => channel.broadcast(data)),
    );
    return;
  }
  if (req.method === 'GET' && path === '/stats') {
    answer(res, stats(req.url, channel.sessionCount));
    return;
  }
  res.writeHead(404).end();
});

listen(server);
