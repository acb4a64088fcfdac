import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STREAM_KEY_HEADER } from '@ssekit/core';
import { sse } from '@ssekit/express';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { DemoApp } from './app.js';
import { firstValues, type RouteRequest, runApi } from './routes.js';
import type { DemoServer } from './start.js';

function routeRequest(req: Request): RouteRequest {
  return { params: req.params as Record<string, string>, query: firstValues(req.query), socket: req.socket };
}

/** The demo on Express: the shared route table, mounted with `sse()` from `@ssekit/express`. */
export function createExpressApp(app: DemoApp): express.Express {
  const server = express();
  server.disable('x-powered-by');
  server.use(express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }));

  for (const asset of app.assets) {
    server.get(asset.path, (_req, res) => {
      res.set({ 'Content-Type': asset.contentType, 'Cache-Control': 'no-cache' }).send(asset.body);
    });
  }

  for (const route of app.sseRoutes) {
    const { clientId, topics } = route;
    server.get(
      route.path,
      sse(
        {
          hub: app.hub,
          clientId: clientId && ((req) => clientId(routeRequest(req))),
          topics: topics && ((req) => topics(routeRequest(req))),
          heartbeat: route.heartbeat,
          timeout: route.timeout,
          retry: route.retry,
        },
        (req, res) => route.handle(res.sse, routeRequest(req)),
      ),
    );
  }

  for (const route of app.resumableRoutes) {
    // Before `sse()`, so that a bad body is a 400 rather than a stream: a resume or a cancel (the key header) has none.
    const before: RequestHandler = (req, res, next) => {
      for (const [name, value] of Object.entries(route.headers?.() ?? {})) res.setHeader(name, value);
      if (req.get(STREAM_KEY_HEADER) === undefined) route.validate(req.body);
      next();
    };
    server.post(
      route.path,
      before,
      sse({ hub: app.hub, resumable: route.resumable, retry: route.retry }, (req, res) =>
        route.handle(res.sse, { ...routeRequest(req), body: req.body }),
      ),
    );
  }

  for (const route of app.apiRoutes) {
    const method = route.method === 'GET' ? 'get' : route.method === 'POST' ? 'post' : 'delete';
    server[method](route.path, async (req, res) => {
      const answer = await runApi(route, { ...routeRequest(req), body: req.body }, app.logger);
      res.status(answer.status).json(answer.body);
    });
  }

  // The same JSON errors as on Fastify: a malformed client id or topic, a body that is not JSON.
  const errors: ErrorRequestHandler = (error, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status =
      typeof error?.statusCode === 'number' ? error.statusCode : typeof error?.status === 'number' ? error.status : 500;
    if (status >= 500) app.logger.error('a request failed', error);
    res.status(status).json({
      // body-parser names its failures in `type` (entity.parse.failed, entity.too.large).
      error: typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : 'ERROR',
      message: status >= 500 ? 'The server failed; see its log.' : String(error?.message ?? error),
    });
  };
  server.use(errors);
  return server;
}

/** Listens on `port` and returns how to close: SSE streams are ended by the hub first, then idle sockets go. */
export async function listenExpress(app: DemoApp, port: number, host: string): Promise<DemoServer> {
  const server = http.createServer(createExpressApp(app));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => closeServer(server),
  };
}

/**
 * Closes a node:http server without waiting on keep-alive sockets. The hub has ended every stream by now; any
 * request still open after a grace period is cut.
 */
export function closeServer(server: http.Server, grace = 3000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), grace);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
