/** ssekit on Fastify: the plugin, an `{ sse: true }` route, and the hub at `app.sse`. */
import ssekit from '@ssekit/fastify';
import Fastify from 'fastify';
import { announce, broadcast, heartbeatFromEnv, parseBroadcast, stats } from './contract.js';

const heartbeat = heartbeatFromEnv();

const app = Fastify({ logger: false });
await app.register(ssekit, heartbeat === undefined ? {} : { heartbeat });
app.get('/sse', { sse: true }, async () => {});
app.post('/broadcast', async (req) =>
  broadcast(parseBroadcast(req.url), (data) => {
    void app.sse.broadcast(data);
  }),
);
app.get('/stats', async (req) => stats(req.url, app.sse.size));

await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server);
