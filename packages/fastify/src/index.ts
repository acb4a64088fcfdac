/**
 * `@ssekit/fastify`: Server-Sent Events for Fastify 5, as a plugin with a per-route `sse` option.
 *
 * - `await app.register(ssekit, defaults)`: the plugin (default export).
 * - `app.get(path, { sse: true | options }, handler)`: an SSE route; the handler finds the open stream as
 *   `reply.sse`.
 * - `app.sse`: the hub, to send to a client id, publish to a topic or broadcast from anywhere in the app.
 *
 * @packageDocumentation
 */
import { ssekit } from './plugin.js';

export type { SsekitFastifyOptions, SseRouteOptions } from './types.js';
export { ssekit };
export default ssekit;
