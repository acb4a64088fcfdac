/**
 * better-sse on plain `node:http` (it is framework-agnostic): `createSession` per request, one channel,
 * `channel.broadcast`. The same library calls as better-sse.ts, without Express's response objects.
 */
import { createChannel, createSession } from 'better-sse';
import { heartbeatFromEnv, serveContract } from './contract.js';

const channel = createChannel();
const heartbeat = heartbeatFromEnv();
const sessionOptions = heartbeat === undefined ? {} : { keepAlive: heartbeat };

serveContract({
  open: (req, res) => {
    createSession(req, res, sessionOptions).then(
      (session) => channel.register(session),
      (error: Error) => res.destroy(error),
    );
  },
  publish: (data) => {
    channel.broadcast(data);
  },
  connections: () => channel.sessionCount,
});
