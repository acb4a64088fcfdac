import { afterEach } from 'vitest';

/** What a test opened (clients, servers, hubs, apps) and must close once it ends, pass or fail. */
export interface Teardown {
  /** Runs `close` after the current test. The latest runs first: a client closes before the server it talks to. */
  defer(close: () => unknown): void;
  /** Closes `resource` after the current test, and returns it: `const es = teardown.track(openEventSource(url))`. */
  track<T extends { close(): unknown }>(resource: T): T;
}

/**
 * Registers an `afterEach` in the calling file or describe block that closes what its tests deferred, newest first,
 * one at a time. A close that throws does not stop the others; the first error fails the test after all have run.
 */
export function closeAfterEach(): Teardown {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const close of pending.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  });
  return {
    defer(close) {
      pending.push(close);
    },
    track(resource) {
      pending.push(() => resource.close());
      return resource;
    },
  };
}
