import { createHub, type Hub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../support/logger.js';
import { type FlakyLink, redisForSuite, redisRequirement, startFlakyLink, uniqueKey } from '../support/redis.js';
import { type Feed, feed, keyOf, producing, resumeStream, serveResumable, startStream } from '../support/resumable.js';
import { closeAfterEach } from '../support/teardown.js';

// Resumable streams over two instances on one Redis, where the producer's instance dies: no hub.close(), no
// terminal entry from it. Its producer lease lapses and the readers on the other instance are told.

const requirement = redisRequirement();
const LEASE = 300;

describe.skipIf(requirement.skip)('Redis: resumable streams across instances', () => {
  const redis = redisForSuite();
  const teardown = closeAfterEach();

  /** One instance: its own link to Redis (cut to kill it), its hub on a Redis broker, its resumable route. */
  async function instance(prefix: string): Promise<{ hub: Hub; url: string; link: FlakyLink; source: Feed }> {
    const link = teardown.track(await startFlakyLink(redis.url));
    const broker = createRedisBroker(
      { url: link.url },
      { key: prefix, logger: recordingLogger(), streamReaderLease: LEASE, streamProducerLease: LEASE },
    );
    const hub = createHub({ broker, logger: recordingLogger() });
    teardown.defer(async () => {
      await hub.close();
      await broker.close();
    });
    const source = feed();
    const server = teardown.track(
      await serveResumable(hub, { logger: recordingLogger() }, (stream) => stream.resumable(source.producer)),
    );
    return { hub, url: server.url, link, source };
  }

  it("a reader on another instance gets ssekit-error lost once the producer's instance dies", async () => {
    const prefix = uniqueKey('resumable');
    const a = await instance(prefix);
    const b = await instance(prefix);
    const started = teardown.track(await startStream(a.url));
    const key = keyOf(started);
    await producing(a.source);
    a.source.push('token', { text: 'Hello' });
    await started.waitForEvents(2);
    const reader = teardown.track(await resumeStream(b.url, key, '2'));
    expect(reader.status).toBe(200);

    // Instance A dies: it never reaches Redis again, and nothing closes its hub.
    await a.link.close();
    await reader.waitForEnd(LEASE * 10);
    expect(reader.events.map((event) => [event.id, event.event, event.data])).toEqual([
      ['3', 'ssekit-error', '{"reason":"lost"}'],
    ]);
  });
});
