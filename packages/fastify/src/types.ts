import type { Hub, SseStream } from '@ssekit/core';
import type { ConnectOptions } from '@ssekit/core/adapter';
import type {
  ContextConfigDefault,
  FastifyBaseLogger,
  FastifyRequest,
  FastifySchema,
  FastifyTypeProvider,
  FastifyTypeProviderDefault,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';

/**
 * Options of one SSE route (the `sse` route option), or the plugin's defaults for every SSE route (the options of
 * `app.register(ssekit, options)`). `clientId(request)` and `topics(request)` receive Fastify's request; every
 * other option is a stream option of `@ssekit/core`.
 */
export type SseRouteOptions<Request = FastifyRequest> = ConnectOptions<Request>;

/**
 * Options of `app.register(ssekit, options)`: defaults for every SSE route; `hub` also becomes `app.sse`. `route`
 * names one route and `resumable` makes one route's responses resumable streams, so they are a route's options only.
 */
export type SsekitFastifyOptions = Omit<SseRouteOptions<FastifyRequest>, 'route' | 'resumable'>;

declare module 'fastify' {
  interface FastifyInstance<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
  > {
    /**
     * The hub of this app's SSE routes: `app.sse.send(clientId, data)`, `publish(topic, data)`, `broadcast(data)`,
     * `disconnect(clientId)`, `stats()`. The plugin's `hub` option, or a hub the plugin created for this app.
     */
    sse: Hub;
  }

  interface FastifyReply {
    /**
     * The SSE stream of this request, on routes declared with the `sse` option: `send`, `write`, `comment`,
     * `close`, `pipe`, `signal`, `lastEventId`, `clientId`, `subscribe`/`unsubscribe`, `closeReason`; on a route
     * with `sse: { resumable }`, `resumable(producer)` starts the stream's producer (docs/streaming-responses.md).
     *
     * Reading it elsewhere (a route without `sse`, or a hook that runs before the handler) throws an `SseError`
     * with code `SSE_NO_STREAM` rather than returning `undefined`.
     */
    readonly sse: SseStream;
  }

  interface RouteShorthandOptions<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
    ContextConfig = ContextConfigDefault,
    SchemaCompiler extends FastifySchema = FastifySchema,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
  > {
    /**
     * Makes this route an SSE route (needs `@ssekit/fastify` registered): `true` for the plugin's defaults, or
     * options that override them for this route. The handler then finds the open stream as `reply.sse`.
     */
    sse?:
      | boolean
      | SseRouteOptions<
          FastifyRequest<RouteGeneric, RawServer, RawRequest, SchemaCompiler, TypeProvider, ContextConfig, Logger>
        >;
  }
}
