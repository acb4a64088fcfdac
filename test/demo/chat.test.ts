import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Framework } from '../../demo/src/app.js';
import type { ChatStats } from '../../demo/src/chat/chat.js';
import { answerTokens } from '../../demo/src/chat/model.js';
import { type RunningDemo, startDemo } from '../../demo/src/start.js';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { demoTabsPerTest } from '../support/demo-page.js';
import { sleep } from '../support/wait.js';

// The demo's chat panel in headless Chromium, on each framework: a prompt POSTed with @ssekit/client, the simulated
// model's answer read as a resumable stream, a dropped connection resumed, a stop that reaches the model.

const { skip } = chromiumRequirement();
const quiet = { info: () => {}, error: (message: string, error?: unknown) => console.error(message, error) };
// 113 tokens, one per 20 ms: an answer takes over 2 s, long enough to drop or stop it halfway.
const INTERVALS = { tick: 100, perf: 200, word: 10, chat: 20 };

describe.skipIf(skip).each<Framework>(['express', 'fastify'])('the chat panel on %s', (framework) => {
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let demo: RunningDemo;
  const tabs = demoTabsPerTest(() => chromium.browser);
  const open = (name: string) => tabs.open(demo.address, name);
  const stats = async () => (await (await fetch(`${demo.address}/api/chat/stats`)).json()) as ChatStats;

  beforeAll(async () => {
    [chromium, demo] = await Promise.all([
      launchChromium(),
      startDemo({ port: 0, framework, intervals: INTERVALS, retry: 200, logger: quiet }),
    ]);
  });
  afterAll(async () => {
    await chromium?.close();
    await demo?.close();
  });

  it('streams the whole answer to a prompt, token by token, on one connection', async () => {
    const tab = await open('alice');
    const prompt = `What is SSE? (${framework})`;
    await tab.ask(prompt);
    const chat = await tab.waitForChat(['done', 'error']);
    expect(chat).toMatchObject({ status: 'done', connections: 1, missing: 0, repeated: 0 });
    expect(chat.answer).toBe(answerTokens(prompt).join(''));
    expect(chat.tokens).toBe(answerTokens(prompt).length);
    expect(chat.log.map(({ kind, instance }) => ({ kind, instance }))).toEqual([
      { kind: 'start', instance: demo.instance },
      { kind: 'usage', instance: '' },
    ]);
  });

  it('resumes a dropped answer where it stopped, with no token missing or repeated', async () => {
    const tab = await open('bob');
    const prompt = 'Drop me halfway';
    const chat = await tab.askAndDrop(prompt);
    expect(chat).toMatchObject({ status: 'done', connections: 2, missing: 0, repeated: 0 });
    expect(chat.answer).toBe(answerTokens(prompt).join(''));
    const drop = chat.log.find((entry) => entry.kind === 'drop');
    expect(drop?.text).toMatch(/^Dropped after \d+ tokens$/);
    // Dropped mid-answer, and resumed from the last event the page had, on this (the only) instance.
    expect(Number(drop?.text.match(/\d+/)?.[0])).toBeLessThan(answerTokens(prompt).length);
    expect(chat.log.find((entry) => entry.kind === 'resume')).toMatchObject({ instance: demo.instance });
  });

  it('stops the answer with Stop: the model on the server sees its signal abort', async () => {
    const tab = await open('carol');
    const before = await stats();
    const prompt = 'Stop me';
    await tab.ask(prompt);
    await tab.waitForTokens(5);
    await tab.click('#chat-stop');
    const chat = await tab.waitForChat(['stopped', 'error']);
    expect(chat.status).toBe('stopped');
    expect(chat.tokens).toBeLessThan(answerTokens(prompt).length);
    expect(answerTokens(prompt).join('').startsWith(chat.answer)).toBe(true);
    // The cancel (answered 204) aborted the producer's signal: the model counted it.
    const cancelled = (s: ChatStats) => s.aborted.cancelled ?? 0;
    let after = await stats();
    for (let polls = 0; cancelled(after) === cancelled(before) && polls < 100; polls++) {
      await sleep(20);
      after = await stats();
    }
    expect(cancelled(after)).toBe(cancelled(before) + 1);
    expect(after.running).toBe(0);
  });

  it('reads the same answer again after a reload, from the stream key kept in sessionStorage', async () => {
    const tab = await open('dave');
    const prompt = 'Reload me';
    await tab.ask(prompt);
    await tab.waitForTokens(5);
    await tab.page.reload();
    const chat = await tab.waitForChat(['done', 'error']);
    expect(chat).toMatchObject({ status: 'done', missing: 0, repeated: 0 });
    expect(chat.answer).toBe(answerTokens(prompt).join(''));
    expect(chat.log[0]).toMatchObject({ kind: 'resume', instance: demo.instance });
  });

  it('answers a start without a prompt with 400, and an unknown stream key with 404, before any stream', async () => {
    const noPrompt = await fetch(`${demo.address}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: ' ' }),
    });
    expect(noPrompt.status).toBe(400);
    expect(await noPrompt.json()).toMatchObject({ error: 'NO_PROMPT' });
    const unknown = await fetch(`${demo.address}/api/chat`, {
      method: 'POST',
      headers: { 'ssekit-stream-key': 'AAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/json/);
  });
});
