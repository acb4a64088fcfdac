import { describe, expect, it } from 'vitest';
import { adapters, appTracker } from '../adapters/harness.js';
import { rawExchange } from '../support/raw-http.js';
import { closeAfterEach } from '../support/teardown.js';

// nginx speaks HTTP/1.0 to upstreams unless told `proxy_http_version 1.1`. An HTTP/1.0 response has no chunked
// encoding, so the stream's end is the connection's close: the head must say so.

const teardown = closeAfterEach();
const apps = appTracker(teardown);

describe.each(adapters)('$name', (adapter) => {
  it('answers an HTTP/1.0 request with Connection: close, since the stream ends with the connection', async () => {
    const app = await apps.start(adapter, {
      routes: [{ path: '/events', sse: { heartbeat: false }, handler: (stream) => stream.send('hello') }],
    });
    const port = Number(new URL(app.url).port);
    const answer = await rawExchange(
      port,
      'GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n',
      {
        enough: (text) => text.includes('data: hello\n\n'),
      },
    );
    expect(answer.status).toBe(200);
    const head = answer.text.slice(0, answer.text.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toContain('\r\nconnection: close');
    expect(head).not.toContain('keep-alive');
    expect(head).not.toContain('transfer-encoding');
  });
});
