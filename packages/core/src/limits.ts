import { closeConnectionWhenFinished } from './close-connection.js';
import { SseError } from './errors.js';
import type { ResolvedHubOptions, ResolvedLimitResponse } from './hub-options.js';
import type { Registry } from './registry.js';
import { createStream, type SseRequest, type SseResponse } from './stream.js';
import type { ResolvedStreamOptions } from './stream-options.js';

/** Why `hub.admit()` would refuse a connection. */
export type Refusal = 'closed' | 'max-connections' | 'max-connections-per-client';

/** Why a new connection for `clientId` would be refused now, or `undefined` when it would be accepted. */
export function refusalFor(
  registry: Registry,
  options: Pick<ResolvedHubOptions, 'maxConnections' | 'maxConnectionsPerClient'>,
  closed: boolean,
  clientId: string | undefined,
): Refusal | undefined {
  if (closed) return 'closed';
  if (registry.connectionCount >= options.maxConnections) return 'max-connections';
  if (clientId !== undefined && registry.connectionsOf(clientId) >= options.maxConnectionsPerClient) {
    return 'max-connections-per-client';
  }
  return undefined;
}

/**
 * Answers a refused connection as the hub's `limitResponse` says: a status answer throws (the adapter turns it into
 * the HTTP error, with `Retry-After`); a retry answer opens a stream that sends a jittered `retry` hint and ends.
 * `beforeOpen` is called right before the retry answer is written.
 * @throws SseError `SSE_HUB_CLOSED` or `SSE_TOO_MANY_CONNECTIONS` with the status, for a status answer.
 */
export function answerRefusal(
  refusal: Refusal,
  answer: ResolvedLimitResponse,
  req: SseRequest,
  res: SseResponse,
  stream: ResolvedStreamOptions,
  clientId: string | undefined,
  beforeOpen: (() => void) | undefined,
): void {
  if (answer.type === 'status') {
    if (!res.headersSent) {
      res.setHeader('Retry-After', String(answer.retryAfter));
      // The server is going away: the framework's answer closes the connection instead of leaving it idle.
      if (refusal === 'closed' && req.httpVersionMajor < 2) res.setHeader('Connection', 'close');
    }
    throw new SseError(
      refusal === 'closed' ? 'SSE_HUB_CLOSED' : 'SSE_TOO_MANY_CONNECTIONS',
      refusal === 'closed'
        ? 'The server is shutting down; try again shortly.'
        : `Too many SSE connections (${refusal}); try again later.`,
      { statusCode: answer.status },
    );
  }
  // 200, a retry hint and an end: EventSource comes back later, where any non-200 would stop it for good.
  const base = answer.retry;
  beforeOpen?.();
  const refused = createStream(req, res, stream, clientId);
  // A closing hub refuses because the server is going away: its connection must not linger after the answer.
  if (refusal === 'closed') closeConnectionWhenFinished(req, res);
  refused.close({ retry: base + Math.floor(Math.random() * (base / 5)) });
}
