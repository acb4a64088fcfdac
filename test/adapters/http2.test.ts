import http2 from 'node:http2';
import { describe, expect, it } from 'vitest';
import { http2Get } from '../support/http2.js';
import { closeAfterEach } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { appTracker, byQuery, http2Adapters } from './harness.js';

// The same routes over cleartext HTTP/2 (h2c), read with a `node:http2` client.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

describe.each(http2Adapters)('$name over HTTP/2', (adapter) => {
  it('answers 200 with the SSE headers and no Connection header, then streams events', async () => {
    const app = await apps.start(adapter, {
      http2: true,
      routes: [{ path: '/events', sse: { clientId: byQuery }, handler: (stream) => stream.send('hello') }],
    });
    const response = await http2Get(app.url, '/events?id=alice');
    teardown.track(response);
    expect(response.headers[':status']).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache, no-transform');
    expect(response.headers.connection).toBeUndefined();
    await response.waitForText('data: hello\n\n');
    await app.hub.send('alice', 'for alice', { event: 'note' });
    await response.waitForText('event: note\n');
    expect(response.text).toMatch(/event: note\nid: [^\n]+\ndata: for alice\n\n$/);
  });

  it('replays what a client missed when it resumes with Last-Event-ID', async () => {
    const app = await apps.start(adapter, { http2: true, routes: [{ path: '/events' }] });
    const first = await app.hub.broadcast('one');
    await app.hub.broadcast('two');
    const response = await http2Get(app.url, '/events', { 'last-event-id': first });
    teardown.track(response);
    await response.waitForText('data: two\n\n');
    expect(response.text).not.toContain('data: one');
  });

  it('ends the stream with reason "client" when the client cancels it', async () => {
    const app = await apps.start(adapter, { http2: true, routes: [{ path: '/events' }] });
    const session = http2.connect(app.url);
    const request = session.request({ ':path': '/events' });
    await new Promise((resolve) => request.once('response', resolve));
    await waitFor(() => app.hub.size === 1, 'the stream to register');
    request.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => app.hub.stats().closed.client === 1, 'the stream to end');
    expect(app.hub.size).toBe(0);
    session.close();
  });
});
