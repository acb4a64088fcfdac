/** better-sse on Express: `createSession` per request, one channel, `channel.broadcast`. */
import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import express from 'express';
import { answer, broadcast, heartbeatFromEnv, listen, parseBroadcast, stats } from './contract.js';

const channel = createChannel();
const heartbeat = heartbeatFromEnv();
const sessionOptions = heartbeat === undefined ? {} : { keepAlive: heartbeat };

const app = express();
app.get('/sse', async (req, res) => {
  const session = await createSession(req, res, sessionOptions);
  channel.register(session);
});
app.post('/broadcast', (req, res) => {
  answer(
    res,
    broadcast(parseBroadcast(req.url), (data) => channel.broadcast(data)),
  );
});
app.get('/stats', (req, res) => {
  res.json(stats(req.url, channel.sessionCount));
});

listen(createServer(app));
