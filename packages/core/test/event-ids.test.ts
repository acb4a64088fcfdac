import http from 'node:http';
import { createHub, formatEvent, SseTypeError } from '@ssekit/core';
import { MAX_LAST_EVENT_ID_LENGTH } from '@ssekit/core/adapter';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { expectSseError } from '../../../test/support/errors.js';
import { serveHub } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';

// An event id comes back as the client's Last-Event-ID header. Ids a header cannot carry intact (non-ASCII, a space
// at either end, longer than the server reads) are refused when sent, so that every accepted id resumes.

const teardown = closeAfterEach();

const NOT_ASCII = {
  base: TypeError,
  type: SseTypeError,
  code: 'SSE_INVALID_FIELD',
  message: /outside printable ASCII .*encodeURIComponent\(id\)/,
} as const;

async function hubWithClient() {
  const hub = createHub();
  teardown.defer(() => hub.close());
  const server = await serveHub(hub);
  teardown.track(server);
  const client = teardown.track(await rawSse(`${server.url}/?client=alice`));
  const stream = await server.stream();
  return { hub, server, client, stream };
}

describe('event ids a client could not send back', () => {
  it.each(['€-2', 'café-1', 'tab\t1', 'del\u007f'])('formatEvent refuses %j, saying to encode it', (id) => {
    expectSseError(() => formatEvent({ id, data: 'x' }), NOT_ASCII);
  });

  it('stream.send and hub.send, publish and broadcast refuse a non-ASCII id before anything is sent', async () => {
    const { hub, client, stream } = await hubWithClient();
    expectSseError(() => stream.send('x', { id: '€-2' }), NOT_ASCII);
    expectSseError(() => hub.send('alice', 'x', { id: '€-2' }), NOT_ASCII);
    expectSseError(() => hub.publish('news', 'x', { id: '€-2' }), NOT_ASCII);
    expectSseError(() => hub.broadcast('x', { id: '€-2' }), NOT_ASCII);
    stream.send('after');
    expect((await client.waitForEvents(1)).map((e) => e.data)).toEqual(['after']);
    expect(hub.stats().published).toBe(0);
  });

  it.each([' leading', 'trailing '])('refuses %j: HTTP trims a header value', (id) => {
    expectSseError(() => formatEvent({ id, data: 'x' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: /starts or ends with a space/,
    });
  });

  it('refuses an id longer than the longest Last-Event-ID the server reads', () => {
    expectSseError(() => formatEvent({ id: 'a'.repeat(MAX_LAST_EVENT_ID_LENGTH + 1), data: 'x' }), {
      base: TypeError,
      type: SseTypeError,
      code: 'SSE_INVALID_FIELD',
      message: `Field \`id\` is ${MAX_LAST_EVENT_ID_LENGTH + 1} characters long; at most ${MAX_LAST_EVENT_ID_LENGTH} are allowed, the longest Last-Event-ID a resuming client is served by. Use a shorter id.`,
    });
  });

  it('accepts spaces inside, ":", "%", ",", an encoded id and one of the longest length', () => {
    for (const id of ['a b', 'a:b', '100%', 'a,b', encodeURIComponent('€-2'), 'x'.repeat(MAX_LAST_EVENT_ID_LENGTH)]) {
      expect(formatEvent({ id, data: 'x' })).toBe(`id: ${id}\ndata: x\n\n`);
    }
  });
});

describe('a Last-Event-ID header that is not printable ASCII', () => {
  it('is reported as invalid and answered with a reset, not read as Latin-1', async () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    await hub.broadcast('old', { id: 'caf%C3%A9-1' });
    const server = await serveHub(hub);
    teardown.track(server);
    // node:http refuses to send non-Latin-1 header strings; the UTF-8 bytes go out as a raw header value.
    const client = await new Promise<{ events: string[] }>((resolve, reject) => {
      const req = http.get(`${server.url}/`, {
        headers: { accept: 'text/event-stream', 'last-event-id': Buffer.from('café-1').toString('latin1') },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n\n')) {
            req.destroy();
            resolve({ events: text.split('\n\n').filter(Boolean) });
          }
        });
      });
    });
    const stream = await server.stream();
    expect(stream.lastEventIdInvalid).toBe(true);
    expect(stream.lastEventId).toBeUndefined();
    expect(client.events[0]).toContain('"reason":"invalid-id"');
    expect(hub.stats().resets).toBe(1);
  });
});
