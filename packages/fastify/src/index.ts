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

// Under `require`, the module is the plugin itself, the way the official @fastify plugins export
// (`module.exports = fp(...)` with `.default` and a named export on it): require(esm) returns the export named
// 'module.exports'. fastify-plugin already sets `.default`; `.ssekit` is the named export, for
// `const { ssekit } = require('@ssekit/fastify')`.
Object.defineProperty(ssekit, 'ssekit', { value: ssekit, enumerable: true });

export type { SsekitFastifyOptions, SseRouteOptions } from './types.js';
export { ssekit, ssekit as 'module.exports' };
export default ssekit;
