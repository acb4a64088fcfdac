import { express4Adapter, express5Adapter } from '../../packages/express/test/conformance-app.js';
import { fastifyAdapter } from '../../packages/fastify/test/conformance-app.js';
import type { Teardown } from '../support/teardown.js';
import type { Adapter, StartOptions, TestApp, TestRequest, TestRoute } from './types.js';

export type { Adapter, StartOptions, TestApp, TestRequest, TestRoute } from './types.js';

/**
 * Every framework the conformance suite runs against. Express 5 uses the `sse(options), handler` + `sseErrors()`
 * form; Express 4 the `sse(options, handler)` form; Fastify the `{ sse }` route option.
 */
export const adapters: Adapter[] = [express5Adapter, express4Adapter, fastifyAdapter];

/** The adapters that can serve HTTP/2 (Express 5 through the prototype bridge, Fastify with `http2: true`). */
export const http2Adapters: Adapter[] = adapters.filter((adapter) => adapter.http2);

/** One adapter per framework, for the slower browser tests. */
export const frameworkAdapters: Adapter[] = [express5Adapter, fastifyAdapter];

/** A route's `clientId` read from the `id` query parameter: `/events?id=alice`. */
export const byQuery = (req: TestRequest) => req.query.id as string | undefined;

/** `/events`, whose handler sends a default event `hello`, then a `tick` event `{"n":1}` with id `t1`. */
export const helloAndTickRoute: TestRoute = {
  path: '/events',
  handler: (stream) => {
    stream.send('hello');
    stream.send({ n: 1 }, { event: 'tick', id: 't1' });
  },
};

export interface AppTracker {
  start(adapter: Adapter, options: StartOptions): Promise<TestApp>;
  track(app: Promise<TestApp>): Promise<TestApp>;
}

/** Starts apps that `teardown` closes after the test that started them. */
export function appTracker(teardown: Teardown): AppTracker {
  const tracker: AppTracker = {
    start: (adapter, options) => tracker.track(adapter.start(options)),
    track: async (starting) => teardown.track(await starting),
  };
  return tracker;
}
