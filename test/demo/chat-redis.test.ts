import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Balancer, startBalancer } from '../../demo/src/balancer.js';
import type { ChatStats } from '../../demo/src/chat/chat.js';
import { answerTokens } from '../../demo/src/chat/model.js';
import { type RunningDemo, startDemo } from '../../demo/src/start.js';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { demoTabsPerTest } from '../support/demo-page.js';
import { redisForSuite, redisRequirement, uniqueKey } from '../support/redis.js';
import { sleep } from '../support/wait.js';

// The chat panel on two demo instances, Express and Fastify, sharing one hub and its resumable streams through a
// real redis-server, behind the demo's balancer, which sends a request carrying a stream key to the instance that
// did not start the stream: every resume and every cancel crosses instances.

const { skip: noBrowser } = chromiumRequirement();
const { skip: noRedis } = redisRequirement();
const quiet = { info: () => {}, error: (message: string, error?: unknown) => console.error(message, error) };

describe.skipIf(noBrowser || noRedis)('the chat panel on two instances over Redis', () => {
  const redis = redisForSuite();
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let express: RunningDemo;
  let fastify: RunningDemo;
  let balancer: Balancer;
  const tabs = demoTabsPerTest(() => chromium.browser);
  const instances = () => [express, fastify];
  const stats = (demo: RunningDemo) =>
    fetch(`${demo.address}/api/chat/stats`).then((answer) => answer.json() as Promise<ChatStats>);
  const started = async () => (await Promise.all(instances().map(stats))).map((s) => s.started);

  beforeAll(async () => {
    chromium = await launchChromium();
    const common = {
      port: 0,
      redisUrl: redis.url,
      redisKey: uniqueKey('demo-chat'),
      intervals: { tick: 100, perf: 200, word: 10, chat: 20 },
      retry: 200,
      logger: quiet,
    };
    [express, fastify] = await Promise.all([
      startDemo({ ...common, framework: 'express' }),
      startDemo({ ...common, framework: 'fastify', ticker: false }),
    ]);
    balancer = await startBalancer({ targets: [express.address, fastify.address] });
  });
  afterAll(async () => {
    await chromium?.close();
    await balancer?.close();
    await Promise.all([express?.close(), fastify?.close()]);
  });

  it('resumes a dropped answer on the other instance, with the exact text, from one generation', async () => {
    const before = await started();
    const tab = await tabs.open(balancer.address, 'erin');
    const prompt = 'Resume me elsewhere';
    const chat = await tab.askAndDrop(prompt);
    expect(chat).toMatchObject({ status: 'done', connections: 2, missing: 0, repeated: 0 });
    expect(chat.answer).toBe(answerTokens(prompt).join(''));

    const start = chat.log.find((entry) => entry.kind === 'start');
    const resume = chat.log.find((entry) => entry.kind === 'resume');
    const names = instances().map((demo) => demo.instance);
    expect(names).toContain(start?.instance);
    expect(names).toContain(resume?.instance);
    expect(resume?.instance).not.toBe(start?.instance);
    // The model ran once, on the instance that started the stream; the other only read the log in Redis.
    const after = await started();
    const ran = after.map((count, i) => count - (before[i] ?? 0));
    expect(ran).toEqual(names.map((name) => (name === start?.instance ? 1 : 0)));
  });

  it("stops an answer from the other instance: the model's signal aborts where it runs", async () => {
    const tab = await tabs.open(balancer.address, 'frank');
    const before = await Promise.all(instances().map(stats));
    const prompt = 'Stop me from elsewhere';
    await tab.ask(prompt);
    await tab.waitForTokens(5);
    await tab.click('#chat-stop');
    const chat = await tab.waitForChat(['stopped', 'error']);
    expect(chat.status).toBe('stopped');
    expect(chat.tokens).toBeLessThan(answerTokens(prompt).length);

    const start = chat.log.find((entry) => entry.kind === 'start');
    const runner = instances().findIndex((demo) => demo.instance === start?.instance);
    expect(runner).toBeGreaterThanOrEqual(0);
    const cancelled = (s: ChatStats) => s.aborted.cancelled ?? 0;
    const demo = instances()[runner] as RunningDemo;
    let after = await stats(demo);
    for (let polls = 0; cancelled(after) === cancelled(before[runner] as ChatStats) && polls < 100; polls++) {
      await sleep(20);
      after = await stats(demo);
    }
    expect(cancelled(after)).toBe(cancelled(before[runner] as ChatStats) + 1);
  });
});
