import { Writable } from 'node:stream';
import { createHub, isSseError } from '@ssekit/core';
import ssekit from '@ssekit/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { http2Get } from '../../../test/support/http2.js';
import { captureLogger } from '../../../test/support/logger.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { sleep, waitFor } from '../../../test/support/wait.js';
import { listenFastify } from './conformance-app.js';

// What is particular to Fastify: the plugin's lifecycle, hooks, logging and timeouts. The behaviour every adapter
// shares is specified once in test/adapters.

const teardown = closeAfterEach();

async function start(app: FastifyInstance) {
  return teardown.track(await listenFastify(app));
}

async function connect(url: string, headers?: Record<string, string>) {
  return teardown.track(await rawSse(url, headers));
}

/** Fastify's pino logger, writing its JSON lines into an array. */
function recordedLogs(): { lines: Record<string, unknown>[]; logger: { level: string; stream: Writable } } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: { level: 'info', stream } };
}

describe('registering the plugin', () => {
  it('gives each app its own hub as app.sse', async () => {
    const one = Fastify();
    const two = Fastify();
    await one.register(ssekit);
    await two.register(ssekit);
    expect(one.sse).not.toBe(two.sse);
    expect(typeof one.sse.broadcast).toBe('function');
    await Promise.all([one.close(), two.close()]);
  });

  it('uses the hub it is given as app.sse, and leaves it open when the app closes', async () => {
    const hub = createHub();
    const app = Fastify();
    await app.register(ssekit, { hub });
    expect(app.sse).toBe(hub);
    await app.close();
    expect(hub.closed).toBe(false);
    await hub.close();
  });

  it('closes the hub it created when the app closes', async () => {
    const app = Fastify();
    await app.register(ssekit);
    await app.close();
    expect(app.sse.closed).toBe(true);
  });

  it('rejects invalid defaults at register', async () => {
    const app = Fastify();
    const error = await app.register(ssekit, { heartbeat: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSseError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('SSE_INVALID_OPTION');
    await app.close().catch(() => undefined);
  });

  it('refuses a route name for the metrics among the plugin’s defaults: it names one route', async () => {
    const app = Fastify();
    const error = await app.register(ssekit, { route: '/events' } as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSseError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "Option `route` names one route in the metrics: set it in that route's `sse` options, not the plugin's.",
    );
    await app.close().catch(() => undefined);
  });

  it('rejects an sse route option that is neither a boolean nor an object, naming the route', async () => {
    const app = Fastify();
    await app.register(ssekit);
    expect(() => app.get('/events', { sse: 'yes' as unknown as true }, async () => {})).toThrow(
      /^Route GET \/events: the `sse` route option must be true, false or an options object, got string\.$/,
    );
    await app.close();
  });

  it('names the route in the error for an invalid route option', async () => {
    const app = Fastify();
    await app.register(ssekit);
    expect(() => app.get('/events', { sse: { retry: -5 } }, async () => {})).toThrow(/^Route GET \/events: /);
    await app.close();
  });
});

describe('routes', () => {
  it('merges route options over the defaults, adding up the headers', async () => {
    const app = Fastify();
    await app.register(ssekit, { headers: { 'X-App': 'app' }, retry: 500 });
    app.get('/events', { sse: { headers: { 'X-Route': 'route' }, retry: 700 } }, async () => {});
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    expect(client.headers['x-app']).toBe('app');
    expect(client.headers['x-route']).toBe('route');
    await client.waitForText('retry: 700\n\n');
  });

  it('serves SSE routes declared in a plugin registered after ssekit', async () => {
    const app = Fastify();
    await app.register(ssekit);
    await app.register(async (child) => {
      child.get('/events', { sse: true }, async (_request, reply) => {
        reply.sse.send('from a child plugin');
      });
    });
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    expect((await client.waitForEvents(1))[0]?.data).toBe('from a child plugin');
  });

  it('throws SSE_NO_STREAM for reply.sse on a route without the sse option', async () => {
    const app = Fastify();
    await app.register(ssekit);
    app.get('/plain', async (_request, reply) => {
      try {
        return reply.sse;
      } catch (error) {
        return { code: (error as { code: string }).code };
      }
    });
    const { url } = await start(app);
    expect(await (await fetch(`${url}/plain`)).json()).toEqual({ code: 'SSE_NO_STREAM' });
  });

  it('sends headers that an onRequest hook set on the reply', async () => {
    const app = Fastify();
    await app.register(ssekit);
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-request-hook', 'kept');
    });
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    expect(client.headers['x-request-hook']).toBe('kept');
    expect(client.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  it('answers a connection over a status limit through Fastify, with Retry-After', async () => {
    const app = Fastify();
    await app.register(ssekit, {
      hub: createHub({ maxConnections: 1, limitResponse: { type: 'status', status: 503, retryAfter: 7 } }),
    });
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app);
    await connect(`${url}/events`);
    const refused = await fetch(`${url}/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');
    await app.sse.close();
  });

  it('answers a connection over a retry limit with a retry hint and an end', async () => {
    const app = Fastify();
    await app.register(ssekit, {
      hub: createHub({ maxConnections: 1, limitResponse: { type: 'retry', retry: 3000 } }),
    });
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app);
    await connect(`${url}/events`);
    const refused = await connect(`${url}/events`);
    await refused.waitForEnd();
    expect(refused.status).toBe(200);
    expect(refused.retries[0]).toBeGreaterThanOrEqual(3000);
    await app.sse.close();
  });
});

describe('the request lifecycle', () => {
  it.each([
    ['the server ends the stream', 'server'],
    ['the client aborts', 'client'],
  ])('runs onResponse hooks and logs "request completed" when %s', async (_when, who) => {
    const { lines, logger } = recordedLogs();
    const app = Fastify({ logger });
    await app.register(ssekit);
    const onResponse: number[] = [];
    app.addHook('onResponse', async (_request, reply) => {
      onResponse.push(reply.statusCode);
    });
    app.get('/events', { sse: { clientId: () => 'alice' } }, async () => {});
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    await waitFor(() => app.sse.has('alice'), 'the stream to register');
    if (who === 'server') app.sse.disconnect('alice');
    else client.close();
    await waitFor(() => onResponse.length === 1, 'the onResponse hook');
    expect(onResponse).toEqual([200]);
    await waitFor(() => lines.some((line) => line.msg === 'request completed'), 'the completion log');
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.res).toEqual({ statusCode: 200 });
    expect(completed[0]?.level).toBe(30);
  });

  it("logs a handler's failure with Fastify's logger, error included", async () => {
    const { lines, logger } = recordedLogs();
    const app = Fastify({ logger });
    await app.register(ssekit);
    app.get('/events', { sse: true }, async () => {
      throw new Error('boom');
    });
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    await client.waitForEnd();
    const failure = lines.find((line) => String(line.msg).startsWith('[ssekit] the SSE route handler failed'));
    expect(failure?.level).toBe(50);
    expect(failure?.err).toMatchObject({ message: 'boom', type: 'Error' });
    expect(app.sse.stats().closed.error).toBe(1);
  });

  it('ends every stream with reason "shutdown" and a retry hint on app.close()', async () => {
    const app = Fastify();
    await app.register(ssekit);
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app);
    const clients = await Promise.all([connect(`${url}/events`), connect(`${url}/events`)]);
    await waitFor(() => app.sse.size === 2, 'two streams');
    const hub = app.sse;
    await app.close();
    for (const client of clients) {
      await client.waitForEnd();
      expect(client.text).toMatch(/retry: \d+\n\n$/);
    }
    expect(hub.stats().closed.shutdown).toBe(2);
  });
});

describe('requests that arrive while app.close() runs', () => {
  /** An app whose close is held in a preClose hook (as a slow one of the app's own would) until `release()`. */
  async function closingApp(options: { return503OnClosing?: boolean }) {
    const app = Fastify(options);
    await app.register(ssekit);
    app.get('/events', { sse: true }, async () => {});
    let release: () => void = () => undefined;
    let held = false;
    app.addHook('preClose', async () => {
      held = true;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const { url } = await start(app);
    const closed = app.close();
    await waitFor(() => held, 'app.close() to reach the preClose hook');
    return {
      url,
      async finish() {
        release();
        await closed;
      },
    };
  }

  it('with return503OnClosing: false, an SSE request gets status 200 and a retry hint, which EventSource follows', async () => {
    const app = await closingApp({ return503OnClosing: false });
    const client = await connect(`${app.url}/events`);
    await client.waitForEnd();
    expect(client.status).toBe(200);
    expect(client.text).toMatch(/^retry: \d+\n\n$/);
    await app.finish();
  });

  it('by default, Fastify answers 503, which ends an EventSource for good (why the docs advise the option)', async () => {
    const app = await closingApp({});
    const client = await connect(`${app.url}/events`);
    expect(client.status).toBe(503);
    await app.finish();
  });
});

describe('closing with a hub the plugin did not create', () => {
  it('ends the app\'s streams on a route\'s own hub with reason "shutdown" and leaves that hub open', async () => {
    const routeHub = createHub();
    const app = Fastify();
    await app.register(ssekit);
    app.get('/events', { sse: { hub: routeHub } }, async () => {});
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    await waitFor(() => routeHub.size === 1, 'the stream to join the route hub');
    await app.close();
    await client.waitForEnd();
    expect(routeHub.stats().closed.shutdown).toBe(1);
    expect(routeHub.closed).toBe(false);
    await routeHub.close();
  });
});

describe("Fastify's own timeouts", () => {
  it('do not cut an idle stream: connectionTimeout, requestTimeout, handlerTimeout and keepAliveTimeout', async () => {
    const app = Fastify({
      connectionTimeout: 200,
      requestTimeout: 200,
      handlerTimeout: 200,
      keepAliveTimeout: 200,
      http: { connectionsCheckingInterval: 50 },
    });
    await app.register(ssekit, { heartbeat: false });
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app);
    const client = await connect(`${url}/events`);
    // Several times every timeout, with nothing written.
    await sleep(1000);
    expect(client.ended).toBe(false);
    await app.sse.broadcast('still here');
    expect((await client.waitForEvents(1))[0]?.data).toBe('still here');
  });

  it('handlerTimeout still bounds a slow clientId(): 503, and no stream opens afterwards', async () => {
    const logger = captureLogger();
    const app = Fastify({ handlerTimeout: 100 });
    await app.register(ssekit, { logger });
    let resolved = false;
    app.get(
      '/events',
      {
        sse: {
          clientId: async () => {
            await sleep(300);
            resolved = true;
            return 'late';
          },
        },
      },
      async () => {},
    );
    const { url } = await start(app);
    const answer = await fetch(`${url}/events`);
    expect(answer.status).toBe(503);
    await waitFor(() => resolved && logger.warnings.length === 1, 'clientId() to resolve');
    expect(app.sse.size).toBe(0);
    expect(String(logger.warnings[0]?.[0])).toBe('[ssekit] the request was answered before its SSE stream could open.');
  });

  it('do not cut a stream with heartbeats over HTTP/2 (http2SessionTimeout)', async () => {
    const app = Fastify({ http2: true, http2SessionTimeout: 300, connectionTimeout: 300 });
    await app.register(ssekit, { heartbeat: 100 });
    app.get('/events', { sse: true }, async () => {});
    const { url } = await start(app as unknown as FastifyInstance);
    const response = await http2Get(url, '/events');
    teardown.track(response);
    await sleep(1000);
    expect(response.ended).toBe(false);
    await app.sse.broadcast('still here');
    await response.waitForText('data: still here\n\n');
  });
});
