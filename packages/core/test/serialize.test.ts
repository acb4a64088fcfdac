import { createHub, createStream, formatEvent } from '@ssekit/core';
import { describe, expect, it } from 'vitest';
import { rawSse } from '../../../test/support/clients.js';
import { serveHub, serveStreams } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { serializeData } from '../src/frame.js';

// Bytes are sent as their UTF-8 text wherever data is serialized, the way pipe() has always decoded them: never as
// the JSON of a Buffer ({"type":"Buffer","data":[...]}).

const teardown = closeAfterEach();

describe('bytes as event data', () => {
  it('formatEvent writes a Buffer as its UTF-8 text', () => {
    expect(formatEvent({ data: Buffer.from('buf €') })).toBe('data: buf €\n\n');
  });

  it('serializeData decodes a Uint8Array, an ArrayBuffer and a view on part of a buffer', () => {
    const bytes = new TextEncoder().encode('xx-héllo-xx');
    expect(serializeData(new Uint8Array(bytes))).toBe('xx-héllo-xx');
    expect(serializeData(bytes.buffer)).toBe('xx-héllo-xx');
    expect(serializeData(new DataView(bytes.buffer, 3, 6))).toBe('héllo');
    expect(serializeData(Buffer.from(bytes.buffer, 3, 6))).toBe('héllo');
  });

  it('stream.send(Buffer) writes the same event as pipe() of that Buffer', async () => {
    const server = await serveStreams((req, res) => createStream(req, res, { heartbeat: false }));
    teardown.track(server);
    const client = teardown.track(await rawSse(server.url));
    const stream = await server.stream();
    stream.send(Buffer.from('line one\nline two'));
    await stream.pipe([Buffer.from('line one\nline two')], { end: false });
    const events = await client.waitForEvents(2);
    expect(events.map((e) => e.data)).toEqual(['line one\nline two', 'line one\nline two']);
  });

  it('hub.broadcast, publish and send deliver a Buffer as its text', async () => {
    const hub = createHub();
    teardown.defer(() => hub.close());
    const server = await serveHub(hub);
    teardown.track(server);
    const client = teardown.track(await rawSse(`${server.url}/?client=alice&topics=news`));
    await server.stream();
    await hub.broadcast(Buffer.from('to all'));
    await hub.publish('news', new TextEncoder().encode('to news'));
    await hub.send('alice', Buffer.from('to alice'));
    const events = await client.waitForEvents(3);
    expect(events.map((e) => e.data)).toEqual(['to all', 'to news', 'to alice']);
  });
});
