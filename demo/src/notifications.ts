import type { Socket } from 'node:net';
import { assertClientId, type Hub, type SseStream } from '@ssekit/core';
import { PERF_TOPIC } from './feeds/performance.js';
import { STOCKS_TOPIC } from './feeds/stocks.js';
import { type ApiRequest, type ApiRoute, HttpError, type RouteRequest, type SseRoute } from './routes.js';

/** The topic every notification connection joins, so `sendAll` reaches them and no other stream. */
export const ALL_CLIENTS_TOPIC = 'notifications';

/** Feeds a notification connection may add with `?topics=`: one connection per tab carries everything. */
const OPTIONAL_TOPICS = new Set([STOCKS_TOPIC, PERF_TOPIC]);

/** Longest message accepted, in characters. */
export const MAX_MESSAGE_LENGTH = 500;

/** The notification registry's timings: a heartbeat every 30 s and a 30 min lifetime, after which the browser reconnects and resumes. */
export const HEARTBEAT = 30_000;
export const LIFETIME = 30 * 60_000;

/** What `notify` events carry. */
export interface Notification {
  readonly message: string;
  /** `client` for `send/:clientId`, `all` for `sendAll`, `system` for the demo's own notes. */
  readonly scope: 'client' | 'all' | 'system';
  readonly to?: string;
  readonly at: number;
  /** The instance that accepted the message (several share one Redis hub). */
  readonly via: string;
}

export interface NotificationOptions {
  readonly hub: Hub;
  /** Read at use time (see `DemoIdentity`). */
  readonly identity: { readonly instance: string; readonly framework: string; readonly broker: string };
  /** The `retry:` hint of notification connections, in ms. */
  readonly retry: number;
}

/**
 * The notification registry (a Spring service's map of `SseEmitter`s by client id, recreated) on a hub:
 * `connect/:clientId`, `send/:clientId`, `sendAll` and `disconnect/:clientId`, plus `drop/:clientId`, which cuts the
 * client's TCP connection to show a resume.
 *
 * What the Spring service kept by hand (a map of emitters, a heartbeat thread per client, removal on completion,
 * timeout and error) is the hub's job here; several tabs may share a client id, and ids survive a reconnect.
 */
export class Notifications {
  // Which socket carries which stream, for `drop`. Weak: a stream that ended is forgotten with it.
  private readonly sockets = new WeakMap<SseStream, Socket>();

  constructor(private readonly options: NotificationOptions) {}

  /** `GET /api/sse/connect/:clientId[?topics=stocks,perf]`. */
  connectRoute(): SseRoute {
    return {
      path: '/api/sse/connect/:clientId',
      // A real app takes the id from its session or token; this API puts it in the path.
      clientId: (req) => req.params.clientId,
      topics: (req) => [ALL_CLIENTS_TOPIC, ...optionalTopics(req)],
      heartbeat: HEARTBEAT,
      timeout: LIFETIME,
      retry: this.options.retry,
      handle: (stream, req) => {
        this.sockets.set(stream, req.socket);
        const { instance, framework, broker } = this.options.identity;
        const retry = this.options.retry;
        // No id: this event is about this connection, it must not move the client's resume cursor.
        stream.send(
          { clientId: stream.clientId, instance, framework, broker, retry, resumedFrom: stream.lastEventId ?? null },
          { event: 'connected' },
        );
      },
    };
  }

  apiRoutes(): ApiRoute[] {
    return [
      { method: 'POST', path: '/api/sse/send/:clientId', handle: (req) => this.send(req) },
      { method: 'POST', path: '/api/sse/sendAll', handle: (req) => this.sendAll(req) },
      { method: 'DELETE', path: '/api/sse/disconnect/:clientId', handle: (req) => this.disconnect(req) },
      { method: 'POST', path: '/api/sse/drop/:clientId', handle: (req) => this.drop(req) },
      {
        method: 'GET',
        path: '/api/sse/clients',
        handle: () => ({
          status: 200,
          body: { instance: this.options.identity.instance, clientIds: this.options.hub.clientIds() },
        }),
      },
    ];
  }

  private async send(req: ApiRequest) {
    const clientId = pathClientId(req);
    const note: Notification = { message: readMessage(req), scope: 'client', to: clientId, ...this.stamp() };
    const id = await this.options.hub.send(clientId, note, { event: 'notify' });
    return { status: 202, body: { id, clientId, connectedHere: this.options.hub.streams(clientId).length } };
  }

  private async sendAll(req: ApiRequest) {
    const note: Notification = { message: readMessage(req), scope: 'all', ...this.stamp() };
    const id = await this.options.hub.publish(ALL_CLIENTS_TOPIC, note, { event: 'notify' });
    return { status: 202, body: { id } };
  }

  /**
   * Tells every tab of the client to stop (a `bye` event the page obeys), then ends its connections on every
   * instance sharing the hub's broker. `disconnected` counts the ones ended on this instance. A tab that missed the
   * live `bye` gets it on its resume, from history.
   */
  private async disconnect(req: ApiRequest) {
    const clientId = pathClientId(req);
    const id = await this.options.hub.send(
      clientId,
      { reason: 'disconnected by the API', ...this.stamp() },
      { event: 'bye' },
    );
    const disconnected = this.options.hub.disconnect(clientId);
    return { status: 200, body: { id, clientId, disconnected } };
  }

  /**
   * Destroys the client's sockets on this instance: to the browser it is a network failure, not an orderly end. It
   * reconnects after its `retry` delay with `Last-Event-ID` and gets everything it missed, including the note sent
   * here while it was away.
   */
  private async drop(req: ApiRequest) {
    const clientId = pathClientId(req);
    // A stream whose handler has not run yet has no socket on record; it is left alone.
    const streams = this.options.hub.streams(clientId).filter((stream) => this.sockets.has(stream));
    for (const stream of streams) this.sockets.get(stream)?.destroy();
    await Promise.all(streams.map((stream) => stream.whenEnded()));
    let id: string | undefined;
    if (streams.length > 0) {
      const note: Notification = {
        message: 'Sent while your connection was down: it reached you through the replay.',
        scope: 'system',
        to: clientId,
        ...this.stamp(),
      };
      id = await this.options.hub.send(clientId, note, { event: 'notify' });
    }
    return { status: 200, body: { clientId, dropped: streams.length, id } };
  }

  private stamp(): { at: number; via: string } {
    return { at: Date.now(), via: this.options.identity.instance };
  }
}

function pathClientId(req: RouteRequest): string {
  const clientId = req.params.clientId;
  assertClientId(clientId);
  return clientId;
}

function optionalTopics(req: RouteRequest): string[] {
  const raw = req.query.topics;
  if (raw === undefined || raw === '') return [];
  const topics = raw.split(',').map((t) => t.trim());
  for (const topic of topics) {
    if (!OPTIONAL_TOPICS.has(topic)) {
      throw new HttpError(
        400,
        'UNKNOWN_TOPIC',
        `Unknown topic ${JSON.stringify(topic)}: choose from ${[...OPTIONAL_TOPICS].join(', ')}.`,
      );
    }
  }
  return topics;
}

/** The registry API's `message` parameter: from a JSON or form body, or the query string. */
function readMessage(req: ApiRequest): string {
  const body = req.body;
  const fromBody = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).message : undefined;
  const message = fromBody ?? req.query.message;
  if (typeof message !== 'string' || message.trim() === '') {
    throw new HttpError(
      400,
      'MISSING_MESSAGE',
      'Send a non-empty `message`: a JSON body {"message": "…"}, a form field, or ?message=…',
    );
  }
  if (message.length > MAX_MESSAGE_LENGTH) {
    throw new HttpError(
      400,
      'MESSAGE_TOO_LONG',
      `The message is ${message.length} characters long; at most ${MAX_MESSAGE_LENGTH} are allowed.`,
    );
  }
  return message.trim();
}
