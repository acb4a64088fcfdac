import { createHub, type Hub } from '@ssekit/core';
import { describe, expect, it, vi } from 'vitest';
import { type RawSse, rawSse } from '../../../test/support/clients.js';
import { serveHub } from '../../../test/support/stream-server.js';
import { closeAfterEach } from '../../../test/support/teardown.js';
import { waitFor } from '../../../test/support/wait.js';
import { SharedRuns } from '../src/flusher.js';

let hub: Hub | undefined;
let clients: RawSse[] = [];
const teardown = closeAfterEach();

/** Opens `count` clients; client `i` has the client id `c<i>`. */
async function connectMany(count: number): Promise<RawSse[]> {
  const opened = createHub();
  hub = opened;
  const server = teardown.track(await serveHub(opened));
  // Deferred after the server, so it runs before it: the hub closes its streams, then the server stops.
  teardown.defer(() => opened.close());
  clients = await Promise.all(Array.from({ length: count }, (_, i) => rawSse(`${server.url}/?client=c${i}`)));
  for (const client of clients) teardown.track(client);
  await waitFor(() => hub!.size === count, 'every client to be registered');
  return clients;
}

describe('write coalescing', () => {
  it('many events in one tick to many streams arrive complete and in order', async () => {
    const all = await connectMany(40);
    const stream = hub!.streams('c0')[0]!;
    const ids: string[] = [];
    // One synchronous burst: 300 broadcasts and one direct send in the middle, before any flush.
    for (let i = 0; i < 300; i++) {
      ids.push(`${i}`);
      void hub!.broadcast(`event ${i}`, { id: `${i}` });
      if (i === 150) stream.send('direct');
    }
    for (const client of all) await client.waitForEvents(client === clients[0] ? 301 : 300, 10_000);
    for (const client of all) {
      const expected = ids.map((id) => `event ${id}`);
      if (client === clients[0]) expected.splice(151, 0, 'direct');
      expect(client.events.map((e) => e.data)).toEqual(expected);
    }
  });

  it('writes one shared buffer for a burst to many streams instead of one per stream', async () => {
    await connectMany(30);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      for (let i = 0; i < 10; i++) void hub!.broadcast(`burst ${i}`);
      await Promise.all(clients.map((client) => client.waitForEvents(10)));
      const bursts = concat.mock.calls.filter(([list]) => list.length === 10);
      expect(bursts).toHaveLength(1);
    } finally {
      concat.mockRestore();
    }
    expect(new Set(clients.map((client) => client.text)).size).toBe(1);
  });

  it('gives a stream with its own frames in the burst its own bytes, the others still share', async () => {
    await connectMany(5);
    const own = hub!.streams('c2')[0]!;
    for (let i = 0; i < 4; i++) {
      void hub!.broadcast(`b${i}`);
      if (i === 1) own.send('mine');
    }
    await Promise.all(clients.map((client, i) => client.waitForEvents(i === 2 ? 5 : 4)));
    expect(clients[2]!.events.map((e) => e.data)).toEqual(['b0', 'b1', 'mine', 'b2', 'b3']);
    expect(clients[0]!.events.map((e) => e.data)).toEqual(['b0', 'b1', 'b2', 'b3']);
  });
});

describe('SharedRuns', () => {
  it('returns the same buffer for the same run of frames', () => {
    const runs = new SharedRuns();
    const frames = [Buffer.from('a'), Buffer.from('b')];
    const first = runs.get(7, frames, 2);
    expect(runs.get(7, frames, 2)).toBe(first);
    expect(first.toString()).toBe('ab');
    const other = runs.get(9, frames, 2);
    expect(other).not.toBe(first);
    // Not only the last one is remembered.
    expect(runs.get(7, frames, 2)).toBe(first);
    runs.clear();
    expect(runs.get(7, frames, 2)).not.toBe(first);
  });
});
