import type http from 'node:http';
import { createHub, type Hub } from '@ssekit/core';
import { openConnection, resolveConnectOptions } from '@ssekit/core/adapter';
import { adapters, type TestRequest, type TestRoute } from '../adapters/harness.js';
import { resumableFor } from '../adapters/resumable-options.js';
import { serveStreams } from '../support/stream-server.js';

/**
 * The servers the bad-input and fuzz tests attack: core's `openConnection` on a bare `node:http` server (what an
 * adapter is built on), and every framework adapter of the conformance harness. Routes are described once, as
 * {@link TestRoute}s.
 */
export interface Target {
  name: string;
  start(routes: TestRoute[]): Promise<RunningTarget>;
}

export interface RunningTarget {
  url: string;
  port: number;
  hub: Hub;
  close(): Promise<void>;
}

// Split by hand: `new URL()` throws on request targets such as `//x` that Node accepts and tests send on purpose.
function pathOf(req: http.IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] as string;
}

function view(req: http.IncomingMessage): TestRequest {
  const search = (req.url ?? '').split('?').slice(1).join('?');
  return { params: {}, query: Object.fromEntries(new URLSearchParams(search)), headers: req.headers };
}

/** Core alone: routes matched by exact path, errors answered with their `statusCode` and message (as frameworks do). */
const core: Target = {
  name: 'core (openConnection)',
  async start(routes) {
    const hub = createHub();
    const resolved = routes.map((route) => {
      const { clientId, topics, resumable, ...rest } = route.sse ?? {};
      return {
        path: route.path,
        handler: route.handler,
        options: resolveConnectOptions<http.IncomingMessage>({
          ...rest,
          hub,
          clientId: clientId && ((req) => clientId(view(req))),
          topics: topics && ((req) => topics(view(req))),
          resumable: resumableFor(resumable, view),
        }),
      };
    });
    const server = await serveStreams(async (req, res) => {
      const route = resolved.find((r) => r.path === pathOf(req));
      if (route === undefined) {
        res.writeHead(404).end('Not found');
        return undefined;
      }
      const stream = await openConnection(hub, route.options, req, req, res);
      if (stream !== undefined && route.handler) await route.handler(stream, view(req));
      return stream;
    });
    return {
      url: server.url,
      port: server.port,
      hub,
      async close() {
        await hub.close();
        await server.close();
      },
    };
  },
};

/** Core plus every adapter. */
export const targets: Target[] = [
  core,
  ...adapters.map(
    (adapter): Target => ({
      name: adapter.name,
      async start(routes) {
        const app = await adapter.start({ routes });
        return { url: app.url, port: Number(new URL(app.url).port), hub: app.hub, close: () => app.close() };
      },
    }),
  ),
];
