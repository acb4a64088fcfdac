import http from 'node:http';
import { createHub } from '@ssekit/core';
import { sse } from '@ssekit/express';
import express from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../../test/support/logger.js';
import { rawExchange } from '../../../test/support/raw-http.js';
import { listen } from '../../../test/support/server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// A failure before the SSE head is written goes to next(err): Express answers it (500), and nothing hangs.

const teardown = closeAfterEach();
const GET = 'GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';

describe.each([
  ['Express 4', express4 as unknown as typeof express],
  ['Express 5', express],
])('%s: a failure before the SSE head', (_name, make) => {
  it('is answered 500 through next(err) when a hook on writeHead throws on the SSE head', async () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    const app = make();
    app.use((_req, res, next) => {
      const writeHead = res.writeHead;
      res.writeHead = function patched(this: typeof res, status: number, ...rest: never[]) {
        if (status === 200) throw new Error('a header hook failed');
        return writeHead.call(this, status, ...rest);
      } as typeof res.writeHead;
      next();
    });
    const logger = captureLogger();
    app.get('/events', sse({ hub, logger, heartbeat: false }));
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      logger.error('app error handler', error);
      res.status(500).end();
    });
    const running = teardown.track(await listen(http.createServer(app)));
    const answer = await rawExchange(Number(new URL(running.url).port), GET, { timeout: 3000 });
    expect(answer.status).toBe(500);
    expect(logger.errors[0]?.[1]).toMatchObject({ message: 'a header hook failed' });
    expect(hub.size).toBe(0);
  });
});
