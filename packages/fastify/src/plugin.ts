import { createHub, SseTypeError } from '@ssekit/core';
import { endStream, resolveConnectOptions } from '@ssekit/core/adapter';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { pinoLogger } from './logger.js';
import { replyStream } from './reply.js';
import { type SseApp, sseRoute } from './route.js';
import type { SsekitFastifyOptions } from './types.js';

async function ssekitPlugin(fastify: FastifyInstance, options: SsekitFastifyOptions): Promise<void> {
  // Fastify hands plugins a copy of their options; validate it as the defaults of every SSE route.
  const { hub: given, ...rest } = options ?? {};
  if ('resumable' in rest) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      "Option `resumable` makes one route's responses resumable streams: set it in that route's `sse` options, not the plugin's.",
    );
  }
  if ('route' in rest) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      "Option `route` names one route in the metrics: set it in that route's `sse` options, not the plugin's.",
    );
  }
  const defaults: SsekitFastifyOptions = { logger: pinoLogger(fastify.log), ...rest };
  if (given !== undefined) defaults.hub = given;
  resolveConnectOptions(defaults);
  const ownHub = given === undefined;
  const hub = given ?? createHub({ logger: defaults.logger });
  const app: SseApp = { hub, defaults, streams: new Set(), closing: false };

  fastify.decorate('sse', hub);
  fastify.decorateReply('sse', { getter: replyStream });
  fastify.addHook('onRoute', (routeOptions) => sseRoute(app, routeOptions));
  // preClose, not onClose: Fastify waits for open requests between the two, and an SSE stream never ends alone.
  fastify.addHook('preClose', async () => {
    app.closing = true;
    for (const stream of [...app.streams]) endStream(stream, 'shutdown');
    if (ownHub) await hub.close();
  });
}

/**
 * The `@ssekit/fastify` plugin (Fastify 5). Register it before the routes that use it:
 *
 * ```ts
 * import Fastify from 'fastify';
 * import ssekit from '@ssekit/fastify';
 *
 * const app = Fastify();
 * await app.register(ssekit, { heartbeat: 15_000 });
 * app.get('/events', { sse: true }, async (request, reply) => {
 *   reply.sse.send({ hello: 'world' });
 * });
 * ```
 *
 * - Options: defaults for every SSE route ({@link SsekitFastifyOptions}); invalid ones make `register` fail.
 * - `app.sse`: the hub (the `hub` option, or one created for this app and closed with it).
 * - Route option `sse: true | options`: makes the route an SSE route; `reply.sse` is its open stream.
 * - `app.close()` ends every stream of the app gracefully (reason `shutdown`, with a `retry` hint).
 */
export const ssekit = fp(ssekitPlugin, { name: '@ssekit/fastify', fastify: '5.x' });
