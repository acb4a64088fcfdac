/**
 * The floor of Express itself: an Express route that holds the response open, and the raw node:http broadcast (one
 * Buffer per event written to every response). What it costs to write through Express's response objects at all.
 */
import { createServer, type ServerResponse } from 'node:http';
import express from 'express';
import { answer, broadcast, listen, parseBroadcast, stats } from './contract.js';

const clients = new Set<ServerResponse>();

const app = express();
app.get('/sse', (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  clients.add(res);
  res.on('close', () => clients.delete(res));
});
app.post('/broadcast', (req, res) => {
  answer(
    res,
    broadcast(parseBroadcast(req.url), (data) => {
      const frame = Buffer.from(`data: ${data}\n\n`);
      for (const client of clients) client.write(frame);
    }),
  );
});
app.get('/stats', (req, res) => {
  res.json(stats(req.url, clients.size));
});

listen(createServer(app));
