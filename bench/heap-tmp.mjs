import { createServer, request, Agent } from 'node:http';
import { fork } from 'node:child_process';
import { createHub, createStream } from '@ssekit/core';
import { sse } from '@ssekit/express';
import express from 'express';
import Fastify from 'fastify';
import ssekit from '@ssekit/fastify';
const mode = process.argv[2] ?? 'hub';
const N = Number(process.argv[3] ?? 3000);
const snap = process.argv[4] === 'client' ? '' : process.argv[4];
if (process.argv[4] === 'client') {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let open = 0;
  for (let i = 0; i < N; i++) request({ port: Number(process.argv[5]), host: '127.0.0.1', path: '/', agent }, (r) => { r.on('data', () => {}); if (++open === N) process.send('open'); }).end();
} else {
  const hub = createHub();
  const raw = new Set();
  const rawOpen = (req, res) => { res.writeHead(200, { 'content-type': 'text/event-stream' }); res.flushHeaders(); raw.add(res); res.on('close', () => raw.delete(res)); };
  let server;
  if (mode === 'express' || mode === 'express-raw') {
    const app = express();
    if (mode === 'express') app.get('/', sse({ hub, heartbeat: 15000 })); else app.get('/', rawOpen);
    server = createServer(app);
  } else if (mode === 'fastify' || mode === 'fastify-raw') {
    const app = Fastify();
    await app.register(ssekit, { hub, heartbeat: 15000 });
    if (mode === 'fastify') app.get('/', { sse: true }, async () => {}); else app.get('/', (req, reply) => { reply.hijack(); rawOpen(req.raw, reply.raw); });
    await app.ready();
    server = app.server;
  } else server = createServer((req, res) => {
    if (mode === 'raw') rawOpen(req, res);
    else { const s = createStream(req, res, { heartbeat: 15000 }); void hub.attach(s); }
  });
  server.listen(0, '127.0.0.1', async () => {
    const port = server.address().port;
    const gc = () => { for (let i = 0; i < 4; i++) globalThis.gc(); return process.memoryUsage().heapUsed; };
    const child = fork(new URL(import.meta.url).pathname, [mode, String(N), 'client', String(port), ''], { execArgv: [] });
    // one warm-up round of connections is not needed for a difference of thousands
    const before = gc();
    child.on('message', async () => {
      await new Promise((r) => setTimeout(r, 300));
      const after = gc();
      console.log(mode, ((after - before) / N).toFixed(0), 'B/conn');
      if (snap) (await import('node:v8')).writeHeapSnapshot(snap);
      child.kill(); process.exit(0);
    });
  });
}
