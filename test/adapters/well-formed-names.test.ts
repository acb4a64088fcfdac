import { describe, expect, it } from 'vitest';
import { closeAfterEach } from '../support/teardown.js';
import { adapters, appTracker } from './harness.js';

// Issue 16 item 6: a topic or client id with a lone UTF-16 surrogate is a malformed name, answered 400 like any
// other, before the stream opens.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

describe.each(adapters)('$name: names that are not well-formed UTF-16', (adapter) => {
  it('answers 400 to a connection whose topics() returns a topic with a lone surrogate', async () => {
    const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { topics: () => ['room\uD800'] } }] });
    const response = await fetch(`${app.url}/events`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(400);
    await response.body?.cancel();
    expect(app.hub.size).toBe(0);
  });

  it('answers 400 to a connection whose clientId() returns an id with a lone surrogate', async () => {
    const app = await apps.start(adapter, { routes: [{ path: '/events', sse: { clientId: () => 'alice\uDC00' } }] });
    const response = await fetch(`${app.url}/events`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(400);
    await response.body?.cancel();
    expect(app.hub.size).toBe(0);
  });
});
