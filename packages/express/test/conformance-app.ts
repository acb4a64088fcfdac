import http from 'node:http';
import http2 from 'node:http2';
import { createHub } from '@ssekit/core';
import { type SseOptions, sse, sseErrors } from '@ssekit/express';
import compression from 'compression';
import cors from 'cors';
import express5, { type Express, type Request, type RequestHandler } from 'express';
import express4 from 'express4';
import { resumableFor } from '../../../test/adapters/resumable-options.js';
import type { Adapter, StartOptions, TestApp, TestRequest, TestRoute } from '../../../test/adapters/types.js';
import { listen } from '../../../test/support/server.js';

type ExpressModule = typeof express5;

/**
 * How the suite writes an SSE route:
 * - `middleware`: `app.get(path, sse(options), handler)` plus `app.use(sseErrors())`, the form the README shows.
 * - `handler`: `app.get(path, sse(options, handler))`, the form that also catches rejections on Express 4.
 */
type Form = 'middleware' | 'handler';

function view(req: Request): TestRequest {
  return {
    params: req.params as Record<string, string | undefined>,
    query: req.query as Record<string, unknown>,
    headers: req.headers,
    body: req.body,
  };
}

function toOptions(route: TestRoute, hub: ReturnType<typeof createHub>): SseOptions {
  const { clientId, topics, resumable, ...rest } = route.sse ?? {};
  const options: SseOptions = { ...rest, hub };
  if (resumable !== undefined) options.resumable = resumableFor(resumable, view);
  if (clientId) options.clientId = (req) => clientId(view(req));
  if (topics) options.topics = (req) => topics(view(req));
  return options;
}

/**
 * Express has no HTTP/2 support of its own: it re-parents each request and response onto HTTP/1 prototypes. Giving
 * the app's request and response prototypes the HTTP/2 compatibility classes underneath keeps Node's objects whole.
 */
function bridgeToHttp2(app: Express): void {
  const onto = (base: object, proto: object) =>
    Object.create(
      Object.create(proto, Object.getOwnPropertyDescriptors(Object.getPrototypeOf(base))),
      Object.getOwnPropertyDescriptors(base),
    );
  app.request = onto(app.request, http2.Http2ServerRequest.prototype);
  app.response = onto(app.response, http2.Http2ServerResponse.prototype);
}

async function listenApp(app: Express, hub: ReturnType<typeof createHub>, useHttp2 = false): Promise<TestApp> {
  const running = await listen(
    useHttp2
      ? http2.createServer(app as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
      : http.createServer(app),
  );
  return {
    url: running.url,
    hub,
    sockets: running.sockets,
    async close() {
      await hub.close();
      await running.close();
    },
  };
}

function expressAdapter(name: string, express: ExpressModule, form: Form, supportsHttp2: boolean): Adapter {
  return {
    name,
    http2: supportsHttp2,
    async start(options: StartOptions) {
      const hub = options.hub ?? createHub();
      const app = express();
      if (options.http2) bridgeToHttp2(app);
      if (options.corsAndCompression) app.use(cors({ origin: true }), compression({ threshold: 0 }));
      for (const route of options.routes) {
        if (route.method === 'post') app.post(route.path, express.json(), ...routeHandlers(route, hub, form));
        else app.get(route.path, ...routeHandlers(route, hub, form));
      }
      if (form === 'middleware') app.use(sseErrors());
      return listenApp(app, hub, options.http2);
    },
    async springService() {
      const hub = createHub();
      const app = express();
      app.use(express.json());
      app.get(
        '/api/sse/connect/:clientId',
        sse({ hub, clientId: (req) => req.params.clientId, heartbeat: 30_000, timeout: 30 * 60_000 }),
      );
      app.post('/api/sse/send/:clientId', async (req, res) => {
        res.json({ id: await hub.send(req.params.clientId as string, req.body) });
      });
      app.post('/api/sse/sendAll', async (req, res) => {
        res.json({ id: await hub.broadcast(req.body) });
      });
      app.delete('/api/sse/disconnect/:clientId', (req, res) => {
        res.json({ closed: hub.disconnect(req.params.clientId as string) });
      });
      return listenApp(app, hub);
    },
    async setupError(options: unknown) {
      try {
        express().get('/events', sse(options as SseOptions));
        return undefined;
      } catch (error) {
        return error;
      }
    },
  };
}

function routeHandlers(route: TestRoute, hub: ReturnType<typeof createHub>, form: Form): RequestHandler[] {
  const handlers: RequestHandler[] = [];
  const { refuse, handler } = route;
  if (refuse) handlers.push((req, res, next) => (refuse(view(req)) ? res.status(204).end() : next()));
  const options = toOptions(route, hub);
  if (form === 'handler') {
    handlers.push(sse(options, handler ? (req, res) => handler(res.sse, view(req)) : undefined));
  } else {
    handlers.push(sse(options));
    // Returning the handler's promise is what lets Express 5 route a rejection to sseErrors().
    if (handler) handlers.push(((req, res) => handler(res.sse, view(req))) as RequestHandler);
  }
  return handlers;
}

export const express5Adapter = expressAdapter('Express 5', express5, 'middleware', true);
export const express4Adapter = expressAdapter('Express 4', express4 as unknown as ExpressModule, 'handler', false);
