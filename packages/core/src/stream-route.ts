import type { SseStream } from './stream.js';

// The route each adapter-opened stream came in on (its pattern, e.g. `/rooms/:id/events`), for the metrics'
// `http.route`. Weak: a stream that ended and was let go takes its entry with it.
const routes = new WeakMap<SseStream, string>();

/** Records the route pattern a stream was opened on. */
export function setStreamRoute(stream: SseStream, route: string): void {
  routes.set(stream, route);
}

/** The route pattern a stream was opened on, when an adapter told. */
export function streamRoute(stream: SseStream): string | undefined {
  return routes.get(stream);
}
