/** ssekit on Express: `app.get('/sse', sse(options), handler)` and the package's shared `hub`. */
import { createServer } from 'node:http';
import { hub, sse } from '@ssekit/express';
import express from 'express';
import { answer, broadcast, heartbeatFromEnv, listen, parseBroadcast, stats } from './contract.js';

const heartbeat = heartbeatFromEnv();

const app = express();
app.get('/sse', sse(heartbeat === undefined ? {} : { heartbeat }), () => {});
app.post('/broadcast', (req, res) => {
  answer(
    res,
    broadcast(parseBroadcast(req.url), (data) => {
      void hub.broadcast(data);
    }),
  );
});
app.get('/stats', (req, res) => {
  res.json(stats(req.url, hub.size));
});

listen(createServer(app));
