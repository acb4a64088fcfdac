import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/src/start.js';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { demoTabsPerTest } from '../support/demo-page.js';
import { redisForSuite, redisRequirement, uniqueKey } from '../support/redis.js';

// Two demo instances, Express and Fastify, sharing one hub through a real redis-server, seen from Chromium tabs.

const { skip: noBrowser } = chromiumRequirement();
const { skip: noRedis } = redisRequirement();
const quiet = { info: () => {}, error: (message: string, error?: unknown) => console.error(message, error) };

describe.skipIf(noBrowser || noRedis)('the demo on the Redis broker, two instances', () => {
  const redis = redisForSuite();
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let express: RunningDemo;
  let fastify: RunningDemo;
  const tabs = demoTabsPerTest(() => chromium.browser);
  const { id } = tabs;
  const open = (on: RunningDemo, name: string) => tabs.open(on.address, name);

  beforeAll(async () => {
    chromium = await launchChromium();
    const common = {
      port: 0,
      redisUrl: redis.url,
      redisKey: uniqueKey('demo'),
      intervals: { tick: 100, perf: 200, word: 10 },
      retry: 200,
      logger: quiet,
    };
    // As the cluster script runs them: the ticker on one instance, performance samples from both.
    [express, fastify] = await Promise.all([
      startDemo({ ...common, framework: 'express' }),
      startDemo({ ...common, framework: 'fastify', ticker: false }),
    ]);
  });
  afterAll(async () => {
    await chromium?.close();
    await Promise.all([express?.close(), fastify?.close()]);
  });

  it('shows the Redis broker, the ticker of one instance and the performance of both', async () => {
    const bob = await open(fastify, 'bob');
    const badges = await bob.page.locator('.badges .badge').allTextContents();
    expect(badges).toEqual(['Fastify', 'Redis broker', fastify.instance]);
    // The ticker runs on the Express instance; its ticks reach a tab on Fastify.
    await bob.waitForTick(3);
    for (const demo of [express, fastify]) {
      await bob.page.locator(`.instance[data-instance="${demo.instance}"]`).waitFor();
    }
  });

  it('delivers a message sent on one instance to the tab of that client id on the other, and to no other tab', async () => {
    const alice = await open(express, 'alice');
    const bob = await open(fastify, 'bob');
    const carol = await open(fastify, 'carol');
    await alice.sendTo(id('bob'), 'from Express to Fastify');
    await bob.waitForNotification('from Express to Fastify');
    expect(await bob.page.locator('#inbox .note .meta').first().textContent()).toContain(`via ${express.instance}`);

    // In order per connection: once carol has the later broadcast, she would have had the private one.
    await alice.sendAll('everyone, everywhere');
    for (const tab of [alice, bob, carol]) await tab.waitForNotification('everyone, everywhere');
    expect(await carol.notifications()).toEqual(['everyone, everywhere']);
    expect(await alice.notifications()).toEqual(['everyone, everywhere']);
  });

  it('resumes a dropped tab from the history in Redis, with no gap', async () => {
    const bob = await open(fastify, 'bob');
    await bob.waitForTick(5);
    await bob.drop();
    const resume = await bob.waitForResume();
    expect(resume.state).toBe('resumed');
    expect(resume.text).toContain('No gap, no duplicate');
    await bob.waitForNotification('while your connection was down');
    const seq = await bob.tickSeq();
    await bob.waitForTick(seq + 3);
    expect(await bob.facts()).toMatchObject({ state: 'open', reconnects: 1, missing: 0, duplicates: 0 });
  });
});
