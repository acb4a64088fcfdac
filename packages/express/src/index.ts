/**
 * `@ssekit/express`: Server-Sent Events for Express 4 and 5, per route.
 *
 * ```ts
 * import express from 'express';
 * import { hub, sse } from '@ssekit/express';
 *
 * const app = express();
 * app.get('/events', sse({ clientId: (req) => req.get('x-user') }), (req, res) => {
 *   res.sse.send({ hello: 'world' });
 * });
 * app.post('/notify/:id', (req, res) => {
 *   void hub.send(req.params.id, 'ping');
 *   res.sendStatus(202);
 * });
 * ```
 *
 * - {@link sse}: the per-route middleware that opens the stream as `res.sse`.
 * - {@link hub}: the shared hub routes join by default, to send from anywhere in the app.
 * - {@link sseErrors}: error middleware that ends a stream whose handler failed.
 *
 * @packageDocumentation
 */
import './types.js';

export { hub } from './default-hub.js';
export { sseErrors } from './errors.js';
export { type SseMiddleware, sse } from './middleware.js';
export type { SseHandler, SseOptions } from './types.js';
