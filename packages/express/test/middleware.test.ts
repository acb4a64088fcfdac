import http from 'node:http';
import zlib from 'node:zlib';
import { createHub, isSseError, type SseStream } from '@ssekit/core';
import { hub as sharedHub, sse, sseErrors } from '@ssekit/express';
import compression from 'compression';
import express, { type Express } from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { captureLogger } from '../../../test/support/logger.js';
import { listen } from '../../../test/support/server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { waitFor } from '../../../test/support/wait.js';

// What is particular to Express: res.sse outside SSE routes, the two ways of writing a route and their errors,
// the shared hub, compression. The behaviour every adapter shares is specified once in test/adapters.

const teardown = closeAfterEach();

async function start(app: Express): Promise<string> {
  return teardown.track(await listen(http.createServer(app))).url;
}

async function connect(url: string, headers?: Record<string, string>) {
  return teardown.track(await rawSse(url, headers));
}

describe('res.sse', () => {
  it('throws SSE_NO_STREAM on a route without sse()', async () => {
    const app = express();
    app.get('/plain', (_req, res) => {
      try {
        res.json(res.sse);
      } catch (error) {
        res.json({ code: (error as { code: string }).code });
      }
    });
    const url = await start(app);
    expect(await (await fetch(`${url}/plain`)).json()).toEqual({ code: 'SSE_NO_STREAM' });
  });

  it("is the stream of the package's shared hub when the route has no hub option", async () => {
    const app = express();
    app.get('/events', sse({ clientId: () => 'shared-hub-client' }));
    const url = await start(app);
    const client = await connect(`${url}/events`);
    await waitFor(() => sharedHub.has('shared-hub-client'), 'the stream to join the shared hub');
    await sharedHub.send('shared-hub-client', 'via the shared hub');
    expect((await client.waitForEvents(1))[0]?.data).toBe('via the shared hub');
  });
});

describe('sse() alone', () => {
  it("keeps the stream open when no handler follows it in the route, even with the app's catch-all 404", async () => {
    const hub = createHub();
    const app = express();
    app
      .route('/events')
      .get(sse({ hub }))
      .post((_req, res) => {
        res.sendStatus(405);
      });
    // Were sse() to call next(), this would try to answer a request whose stream is open.
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found' });
    });
    const url = await start(app);
    const client = await connect(`${url}/events`);
    await waitFor(() => hub.size === 1, 'the stream to register');
    await hub.broadcast('kept open');
    expect((await client.waitForEvents(1))[0]?.data).toBe('kept open');
    expect(client.ended).toBe(false);
    await hub.close();
  });

  it('rejects a handler that is not a function when the route is declared', () => {
    let error: unknown;
    try {
      sse({}, 'handler' as unknown as () => void);
    } catch (e) {
      error = e;
    }
    expect(isSseError(error)).toBe(true);
    expect((error as Error).message).toBe('sse(options, handler): the handler must be a function, got string.');
  });
});

describe('errors after the stream opened', () => {
  it.each([
    ['Express 4', express4],
    ['Express 5', express],
  ])('%s: sseErrors() ends the stream with reason "error" when a handler after sse() throws', async (_name, make) => {
    const hub = createHub();
    const logger = captureLogger();
    const app = (make as typeof express)();
    app.get('/events', sse({ hub, logger }), (_req, res) => {
      res.sse.send('before');
      throw new Error('boom');
    });
    app.use(sseErrors());
    const url = await start(app);
    const client = await connect(`${url}/events`);
    await client.waitForEnd();
    expect(client.events.map((e) => e.data)).toEqual(['before']);
    expect(hub.stats().closed.error).toBe(1);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'boom' });
    await hub.close();
  });

  it('Express 4: sse(options, handler) catches a rejection, which Express 4 itself would leave unhandled', async () => {
    const hub = createHub();
    const logger = captureLogger();
    const app = express4();
    app.get(
      '/events',
      sse({ hub, logger }, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('late boom');
      }),
    );
    const url = await start(app);
    const client = await connect(`${url}/events`);
    await client.waitForEnd();
    expect(hub.stats().closed.error).toBe(1);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'late boom' });
    await hub.close();
  });

  it('sseErrors() passes errors of other routes on to the next error handler', async () => {
    const app = express();
    app.get('/plain', () => {
      throw Object.assign(new Error('not an SSE error'), { status: 418 });
    });
    app.use(sseErrors());
    app.use(
      (
        error: Error & { status: number },
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(error.status).json({ message: error.message });
      },
    );
    const url = await start(app);
    const answer = await fetch(`${url}/plain`);
    expect(answer.status).toBe(418);
    expect(await answer.json()).toEqual({ message: 'not an SSE error' });
  });

  it('answers a connection over a status limit through next(err), with Retry-After', async () => {
    const hub = createHub({ maxConnections: 1, limitResponse: { type: 'status', status: 503, retryAfter: 9 } });
    const app = express();
    app.get('/events', sse({ hub }));
    const url = await start(app);
    await connect(`${url}/events`);
    const refused = await fetch(`${url}/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('9');
    await hub.close();
  });
});

describe('behind compression()', () => {
  it('gzips the stream when the route allows transforms, flushing every event at once', async () => {
    const hub = createHub();
    const app = express();
    app.use(compression({ threshold: 0 }));
    app.get('/events', sse({ hub, headers: { 'Cache-Control': 'no-cache' } }));
    const url = await start(app);
    let text = '';
    let encoding: string | undefined;
    const request = http.get(`${url}/events`, { headers: { 'accept-encoding': 'gzip' } }, (response) => {
      encoding = response.headers['content-encoding'];
      const gunzip = response.pipe(zlib.createGunzip());
      gunzip.setEncoding('utf8');
      gunzip.on('data', (chunk: string) => {
        text += chunk;
      });
      gunzip.on('error', () => undefined);
    });
    request.on('error', () => undefined);
    teardown.defer(() => request.destroy());
    await waitFor(() => hub.size === 1, 'the stream to register');
    await hub.broadcast('compressed but not delayed');
    await waitFor(() => text.includes('data: compressed but not delayed\n\n'), 'the event through gzip');
    expect(encoding).toBe('gzip');
    await hub.close();
  });
});

describe('typing', () => {
  it('types req.params from the path in clientId() and in the handler after sse()', async () => {
    const hub = createHub();
    const app = express();
    const seen: string[] = [];
    app.get('/rooms/:room', sse({ hub, clientId: (req) => req.params.room }), (req, res) => {
      const room: string = req.params.room;
      seen.push(room);
      (res.sse satisfies SseStream).send(room);
    });
    const url = await start(app);
    const client = await connect(`${url}/rooms/lobby`);
    expect((await client.waitForEvents(1))[0]?.data).toBe('lobby');
    expect(seen).toEqual(['lobby']);
    await hub.close();
  });
});
