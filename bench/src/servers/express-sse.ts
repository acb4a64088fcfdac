/** express-sse: one `SSE` instance, `app.get('/sse', sse.init)`, `sse.send(data)`. */
import { createServer } from 'node:http';
import express from 'express';
import SSE from 'express-sse';
import { answer, broadcast, listen, parseBroadcast, stats } from './contract.js';

const sse = new SSE();

const app = express();
app.get('/sse', sse.init);
app.post('/broadcast', (req, res) => {
  answer(
    res,
    broadcast(parseBroadcast(req.url), (data) => sse.send(data)),
  );
});
app.get('/stats', (req, res) => {
  // express-sse keeps one 'data' listener per connected client.
  res.json(stats(req.url, sse.listenerCount('data')));
});

listen(createServer(app));
