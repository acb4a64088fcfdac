import type { AddressInfo } from 'node:net';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import type { EventData } from '@ssekit/core';
import ssekit, { type SseRouteOptions } from '@ssekit/fastify';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { resumableFor } from '../../../test/adapters/resumable-options.js';
import type { Adapter, StartOptions, TestApp, TestRequest, TestRoute } from '../../../test/adapters/types.js';
import { trackSockets } from '../../../test/support/server.js';

function view(request: FastifyRequest): TestRequest {
  return {
    params: request.params as Record<string, string | undefined>,
    query: request.query as Record<string, unknown>,
    headers: request.headers,
    body: request.body,
  };
}

function toOptions(route: TestRoute): SseRouteOptions | true {
  if (route.sse === undefined) return true;
  const { clientId, topics, resumable, ...rest } = route.sse;
  const options: SseRouteOptions = { ...rest };
  if (resumable !== undefined) options.resumable = resumableFor(resumable, view);
  if (clientId) options.clientId = (request) => clientId(view(request));
  if (topics) options.topics = (request) => topics(view(request));
  return options;
}

/** Starts a ready Fastify app on 127.0.0.1; `close()` is `app.close()`, with sockets cut so it never waits. */
export async function listenFastify(app: FastifyInstance): Promise<TestApp> {
  const sockets = trackSockets(app.server);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hub: app.sse,
    sockets,
    async close() {
      const closing = app.close();
      // Clients the test left open (an EventSource, an HTTP/2 session) would hold server.close() forever.
      setImmediate(() => sockets.destroyAll());
      await closing;
    },
  };
}

export const fastifyAdapter: Adapter = {
  name: 'Fastify 5',
  http2: true,
  async start(options: StartOptions) {
    const app = (options.http2 ? Fastify({ http2: true }) : Fastify()) as unknown as FastifyInstance;
    if (options.corsAndCompression) {
      await app.register(cors, { origin: true });
      await app.register(compress, { threshold: 0 });
    }
    await app.register(ssekit, options.hub === undefined ? {} : { hub: options.hub });
    for (const route of options.routes) {
      const { refuse, handler } = route;
      app.route({
        method: route.method === 'post' ? 'POST' : 'GET',
        url: route.path,
        sse: toOptions(route),
        preHandler: async (request, reply) => {
          if (refuse?.(view(request))) await reply.code(204).send();
        },
        handler: async (request, reply) => {
          if (handler) await handler(reply.sse, view(request));
        },
      });
    }
    return listenFastify(app);
  },
  async springService() {
    const app = Fastify();
    await app.register(ssekit);
    app.get<{ Params: { clientId: string } }>(
      '/api/sse/connect/:clientId',
      { sse: { clientId: (request) => request.params.clientId, heartbeat: 30_000, timeout: 30 * 60_000 } },
      async () => {},
    );
    app.post<{ Params: { clientId: string } }>('/api/sse/send/:clientId', async (request) => ({
      id: await app.sse.send(request.params.clientId, request.body as EventData),
    }));
    app.post('/api/sse/sendAll', async (request) => ({ id: await app.sse.broadcast(request.body as EventData) }));
    app.delete<{ Params: { clientId: string } }>('/api/sse/disconnect/:clientId', async (request) => ({
      closed: app.sse.disconnect(request.params.clientId),
    }));
    return listenFastify(app);
  },
  async setupError(options: unknown) {
    const app = Fastify();
    try {
      await app.register(ssekit);
      app.get('/events', { sse: options as SseRouteOptions }, async () => {});
      await app.ready();
      return undefined;
    } catch (error) {
      return error;
    } finally {
      await app.close();
    }
  },
};
