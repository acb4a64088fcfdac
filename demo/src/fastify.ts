import { MAX_NAME_LENGTH, STREAM_KEY_HEADER } from '@ssekit/core';
import ssekit from '@ssekit/fastify';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DemoApp } from './app.js';
import { firstValues, type RouteRequest, runApi } from './routes.js';
import type { DemoServer } from './start.js';

function routeRequest(req: FastifyRequest): RouteRequest {
  return { params: req.params as Record<string, string>, query: firstValues(req.query), socket: req.raw.socket };
}

/** The demo on Fastify: the shared route table, mounted with the `sse` route option of `@ssekit/fastify`. */
export async function createFastifyApp(app: DemoApp): Promise<FastifyInstance> {
  const server = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    // Client ids may be 256 characters (ssekit's limit), 768 once percent-encoded; Fastify's default stops at 100.
    routerOptions: { maxParamLength: 3 * MAX_NAME_LENGTH },
    // A tab that comes back while the server closes gets a retry hint it follows, not a 503 that ends its
    // EventSource for good (docs/fastify.md, "Shutting down").
    return503OnClosing: false,
  });
  // The notification registry's API takes `message` as a form field too; Fastify parses JSON only, out of the box.
  server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  await server.register(ssekit, { hub: app.hub });

  for (const asset of app.assets) {
    server.get(asset.path, async (_req, reply) => {
      return reply.header('Content-Type', asset.contentType).header('Cache-Control', 'no-cache').send(asset.body);
    });
  }

  for (const route of app.sseRoutes) {
    const { clientId, topics } = route;
    server.get(
      route.path,
      {
        sse: {
          clientId: clientId && ((req) => clientId(routeRequest(req))),
          topics: topics && ((req) => topics(routeRequest(req))),
          heartbeat: route.heartbeat,
          timeout: route.timeout,
          retry: route.retry,
        },
      },
      async (req, reply) => {
        await route.handle(reply.sse, routeRequest(req));
      },
    );
  }

  for (const route of app.resumableRoutes) {
    server.post(
      route.path,
      {
        // Before the SSE head, so that a bad body is a 400 rather than a stream: a resume or a cancel has no body.
        preHandler: async (req, reply) => {
          reply.headers(route.headers?.() ?? {});
          if (req.headers[STREAM_KEY_HEADER] === undefined) route.validate(req.body);
        },
        sse: { resumable: route.resumable, retry: route.retry },
      },
      async (req, reply) => {
        await route.handle(reply.sse, { ...routeRequest(req), body: req.body });
      },
    );
  }

  for (const route of app.apiRoutes) {
    server.route({
      method: route.method,
      url: route.path,
      handler: async (req, reply) => {
        const answer = await runApi(route, { ...routeRequest(req), body: req.body }, app.logger);
        return reply.code(answer.status).send(answer.body);
      },
    });
  }

  // The same JSON errors as on Express: a malformed client id or topic, a body that is not JSON.
  server.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 500) app.logger.error('a request failed', error);
    return reply.code(status).send({
      error: typeof error.code === 'string' ? error.code : 'ERROR',
      message: status >= 500 ? 'The server failed; see its log.' : error.message,
    });
  });
  return server;
}

/** Listens on `port`. Closing lets Fastify drop idle keep-alive sockets; the hub has ended every stream by then. */
export async function listenFastify(app: DemoApp, port: number, host: string): Promise<DemoServer> {
  const server = await createFastifyApp(app);
  await server.listen({ port, host });
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () => server.close(),
  };
}
