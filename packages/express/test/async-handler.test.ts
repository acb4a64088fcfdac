import http from 'node:http';
import { createHub } from '@ssekit/core';
import { sse, sseErrors } from '@ssekit/express';
import express from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { failOnEscapedErrors } from '../../../test/support/escaped-errors.js';
import { captureLogger } from '../../../test/support/logger.js';
import { listen } from '../../../test/support/server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// Issue 10 bug 4: `app.get(path, sse(), async (req, res) => { throw … })`. Express 5 routes the rejection to
// next(err); Express 4 ignored it (an unhandled rejection, and a stream that stayed open). Both now end the stream
// with reason "error" through sseErrors() and log it.

failOnEscapedErrors(50);
const teardown = closeAfterEach();

describe.each([
  ['Express 4', express4 as unknown as typeof express],
  ['Express 5', express],
])('%s: an async handler after sse() that rejects', (_name, make) => {
  async function serve(handler: express.RequestHandler) {
    const hub = createHub();
    teardown.defer(() => hub.close());
    const logger = captureLogger();
    const app = make();
    app.get('/events', sse({ hub, logger, heartbeat: false }), handler);
    app.use(sseErrors());
    const running = teardown.track(await listen(http.createServer(app)));
    const client = teardown.track(await rawSse(`${running.url}/events`));
    return { hub, logger, client };
  }

  it('ends the stream with reason "error" and logs it, with nothing unhandled', async () => {
    const { hub, logger, client } = await serve(async (_req, res) => {
      res.sse.send('before');
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('late boom');
    });
    await client.waitForEnd();
    expect(client.events.map((e) => e.data)).toEqual(['before']);
    expect(hub.stats().closed.error).toBe(1);
    expect(logger.errorMessages).toEqual([
      '[ssekit] the SSE route handler failed after the stream opened; the stream ends with reason "error".',
    ]);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'late boom' });
  });

  it('does the same for a handler that rejects at once', async () => {
    const { hub, logger, client } = await serve(async () => {
      throw new Error('early boom');
    });
    await client.waitForEnd();
    expect(hub.stats().closed.error).toBe(1);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'early boom' });
  });
});
