import { createHub, SseTypeError } from '@ssekit/core';
import ssekit from '@ssekit/fastify';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { checkSseError } from '../../../test/support/errors.js';
import { captureLogger } from '../../../test/support/logger.js';
import { rawExchange } from '../../../test/support/raw-http.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { listenFastify } from './conformance-app.js';

// An SSE route hijacks the reply before it writes the SSE head; from then on Fastify answers nothing. Whatever fails
// in between must still answer the request, or the client waits forever.

const teardown = closeAfterEach();

/** An onRequest hook that wraps `writeHead` (as on-headers and APM agents do) and throws on `failWhen`. */
function brokenHeadHook(app: FastifyInstance, failWhen: (status: number) => boolean): void {
  app.addHook('onRequest', async (_request, reply) => {
    const raw = reply.raw;
    const writeHead = raw.writeHead;
    raw.writeHead = function patched(this: typeof raw, status: number, ...rest: never[]) {
      if (failWhen(status)) throw new Error('a header hook failed');
      return writeHead.call(this, status, ...rest);
    } as typeof raw.writeHead;
  });
}

async function startApp(failWhen: (status: number) => boolean) {
  const logger = captureLogger();
  const hub = createHub();
  const app = Fastify();
  await app.register(ssekit, { hub, logger, heartbeat: false });
  brokenHeadHook(app, failWhen);
  app.get('/events', { sse: true }, async () => {});
  const running = teardown.track(await listenFastify(app));
  teardown.defer(() => hub.close());
  return { logger, hub, port: Number(new URL(running.url).port) };
}

const GET = 'GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';

describe('a failure after the reply was hijacked, before the SSE head', () => {
  it('is answered 500 and logged when the SSE head cannot be written', async () => {
    const { logger, hub, port } = await startApp((status) => status === 200);
    const answer = await rawExchange(port, GET, { timeout: 3000 });
    expect(answer.status).toBe(500);
    expect(logger.errorMessages).toEqual([
      '[ssekit] the SSE stream could not open; the request is answered with an error status.',
    ]);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'a header hook failed' });
    expect(hub.size).toBe(0);
  });

  it('closes the connection when no head at all can be written', async () => {
    const { logger, port } = await startApp(() => true);
    const answer = await rawExchange(port, GET, { timeout: 3000 });
    expect(answer).toMatchObject({ status: 0, closed: true });
    expect(logger.errors).toHaveLength(1);
  });
});

describe('the plugin defaults', () => {
  it('refuse a headers option Node would refuse, when the plugin is registered', async () => {
    const app = Fastify();
    teardown.defer(() => app.close());
    let error: unknown;
    try {
      await app.register(ssekit, { headers: { 'X-Note': 'a\nb' } });
    } catch (e) {
      error = e;
    }
    checkSseError(error, {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_OPTION',
      message: /header "X-Note" has an invalid value/,
    });
  });
});
