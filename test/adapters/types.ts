import type { IncomingHttpHeaders } from 'node:http';
import type { Hub, SseStream } from '@ssekit/core';
import type { ConnectOptions } from '@ssekit/core/adapter';
import type { SocketTracker } from '../support/server.js';

/** What a route's callbacks see of a request, whichever framework parsed it. */
export interface TestRequest {
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body of a POST route. */
  body?: unknown;
}

/** One SSE route of a test app, described once and built natively by each adapter. */
export interface TestRoute {
  path: string;
  /** The route's method; default GET. A POST route parses a JSON body first (the framework's way). */
  method?: 'get' | 'post';
  /** The route's SSE options (the hub is the app's); `clientId`/`topics` get a {@link TestRequest}. */
  sse?: Omit<ConnectOptions<TestRequest>, 'hub'>;
  /** The route handler, run with the open stream. */
  handler?: (stream: SseStream, req: TestRequest) => unknown;
  /** When it returns true the route answers 204 before any SSE machinery runs (the app logged the user out). */
  refuse?: (req: TestRequest) => boolean;
}

export interface StartOptions {
  routes: TestRoute[];
  /** The hub the SSE routes join (the app closes it); by default one the app creates. */
  hub?: Hub;
  /** Serve cleartext HTTP/2 (h2c) instead of HTTP/1.1. */
  http2?: boolean;
  /** Put the framework's CORS and compression middleware in front of the routes. */
  corsAndCompression?: boolean;
}

/** A test app listening on 127.0.0.1. */
export interface TestApp {
  url: string;
  /** The hub its SSE routes join. */
  hub: Hub;
  sockets: SocketTracker;
  close(): Promise<void>;
}

/** One framework (or framework version) under the conformance suite. */
export interface Adapter {
  name: string;
  start(options: StartOptions): Promise<TestApp>;
  /** The seeds' Spring SseEmitter service (connect, send, sendAll, disconnect), written natively. */
  springService(): Promise<TestApp>;
  /** Declares an SSE route with `options` as the framework's user would; resolves with what that threw. */
  setupError(options: unknown): Promise<unknown>;
  /** Whether this adapter can serve HTTP/2 in the suite. */
  http2: boolean;
}
