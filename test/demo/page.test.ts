import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Framework } from '../../demo/src/app.js';
import { WORDS } from '../../demo/src/feeds/words.js';
import { type RunningDemo, startDemo } from '../../demo/src/start.js';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { demoTabsPerTest } from '../support/demo-page.js';
import { closeAfterEach } from '../support/teardown.js';
import { sleep, waitFor } from '../support/wait.js';

// The demo page in headless Chromium, on each framework: what a newcomer sees in the first five minutes.

const { skip } = chromiumRequirement();
const RETRY = 200;
const quiet = { info: () => {}, error: (message: string, error?: unknown) => console.error(message, error) };

describe.skipIf(skip).each<Framework>(['express', 'fastify'])('the demo page on %s', (framework) => {
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let demo: RunningDemo;
  const tabs = demoTabsPerTest(() => chromium.browser);
  const teardown = closeAfterEach();
  const { id } = tabs;
  const open = (name: string) => tabs.open(demo.address, name);
  const onHub: typeof demo.hub.on = (event, listener) => {
    teardown.defer(() => demo.hub.off(event, listener));
    return demo.hub.on(event, listener);
  };

  // One server and one browser per framework; each test opens its own tabs with client ids of its own.
  beforeAll(async () => {
    [chromium, demo] = await Promise.all([
      launchChromium(),
      startDemo({ port: 0, framework, intervals: { tick: 100, perf: 200, word: 10 }, retry: RETRY, logger: quiet }),
    ]);
  });
  afterAll(async () => {
    await chromium?.close();
    await demo?.close();
  });

  it('loads, names the server it runs on, and renders the ticker and the performance feed', async () => {
    const tab = await open('alice');
    const badges = await tab.page.locator('.badges .badge').allTextContents();
    expect(badges).toEqual([framework === 'express' ? 'Express' : 'Fastify', 'in-memory hub', demo.instance]);
    expect((await tab.page.locator('#client-id').textContent())?.trim()).toBe(id('alice'));

    await tab.waitForTick(1);
    const first = await tab.tickSeq();
    await tab.waitForTick(first + 3);
    expect(await tab.page.locator('#quotes tr[data-trend]').count()).toBe(6);
    expect((await tab.page.locator('#quotes .price').first().textContent())?.trim()).toMatch(/^\d+\.\d\d$/);

    const block = tab.page.locator(`.instance[data-instance="${demo.instance}"]`);
    await block.waitFor();
    expect(await block.locator('.metric .label').allTextContents()).toEqual([
      'CPU (one core)',
      'Memory (RSS)',
      'JS heap',
      'System memory',
      'Connections',
      'Client ids',
      'Events / s',
      'Bytes / s',
    ]);
    // Its own connection is one of the hub's.
    const connections = block.locator('.metric', { hasText: /^Connections/i }).locator('.value');
    expect(Number((await connections.textContent())?.trim())).toBeGreaterThanOrEqual(1);
  });

  it('streams the finite word list to its end, closes it, and reopens it on demand', async () => {
    let wordStreams = 0;
    onHub('connect', (stream) => {
      if (stream.clientId === undefined && stream.topics.size === 0) wordStreams++;
    });
    const tab = await open('alice');
    await tab.click('#words-start');
    await tab.page.waitForSelector('#words-state[data-state="done"]');
    expect(Number(await tab.page.locator('#words-text').getAttribute('data-count'))).toBe(WORDS.length);
    expect((await tab.page.locator('#words-text').textContent())?.trim()).toBe(WORDS.join(' '));

    // Several reconnection delays later, the browser has not come back for the words: `done` closed it.
    await sleep(RETRY * 4);
    expect(wordStreams).toBe(1);
    expect(Number(await tab.page.locator('#words-text').getAttribute('data-count'))).toBe(WORDS.length);

    await tab.click('#words-start');
    await tab.page.waitForSelector('#words-state[data-state="done"]');
    expect(wordStreams).toBe(2);
    expect((await tab.page.locator('#words-state').textContent())?.trim()).toContain('run 2');
  });

  it('delivers a message sent to one client id to that tab only', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    await alice.sendTo(id('bob'), 'for bob only');
    await bob.waitForNotification('for bob only');

    // Events reach a connection in order: once alice has the later broadcast, she would have had the private one.
    await bob.sendAll('to everyone');
    await alice.waitForNotification('to everyone');
    await bob.waitForNotification('to everyone');
    expect(await alice.notifications()).toEqual(['to everyone']);
    expect(await bob.notifications()).toEqual(['to everyone', 'for bob only']);
  });

  it('resumes a dropped connection with Last-Event-ID: every missed event replayed, no gap, no duplicate', async () => {
    const reasons: string[] = [];
    onHub('disconnect', (stream, reason) => {
      if (stream.clientId === id('alice')) reasons.push(reason);
    });
    const tab = await open('alice');
    await tab.waitForTick(5);
    await tab.drop();
    const resume = await tab.waitForResume();

    expect(resume.state).toBe('resumed');
    expect(resume.text).toMatch(/[1-9]\d* missed events? replayed/);
    expect(resume.text).toContain('No gap, no duplicate');
    // It was a network failure to the server too, not an orderly end.
    expect(reasons).toEqual(['client']);
    expect(demo.hub.stats().replayed).toBeGreaterThan(0);
    // The note the server sent while the tab was away arrived through the replay.
    await tab.waitForNotification('while your connection was down');

    const seq = await tab.tickSeq();
    await tab.waitForTick(seq + 3);
    const facts = await tab.facts();
    expect(facts).toMatchObject({ state: 'open', reconnects: 1, missing: 0, duplicates: 0 });
  });

  it('obeys the disconnect API: the tab closes, and its Reconnect button resumes where it stopped', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    await bob.waitForTick(2);
    await alice.fill('#target', id('bob'));
    await alice.click('#disconnect');
    await bob.waitForState('closed');
    expect((await bob.page.locator('#conn-state').textContent())?.trim()).toContain('Disconnected by the server');
    await waitFor(() => !demo.hub.has(id('bob')), 'bob to be gone from the hub');

    await alice.sendTo(id('bob'), 'while bob was away');
    await bob.click('#reconnect');
    await bob.waitForNotification('while bob was away');
    const resume = await bob.waitForResume();
    expect(resume.state).toBe('resumed');
    expect((await bob.facts()).missing).toBe(0);
  });
  it('comes back after a graceful restart, and says the new server could not resume its cursor', async () => {
    const options = {
      framework,
      intervals: { tick: 100, perf: 200, word: 10 },
      retry: RETRY,
      shutdown: { retry: 100, jitter: 100 },
      logger: quiet,
    };
    const first = await startDemo({ ...options, port: 0 });
    let second: RunningDemo | undefined;
    try {
      const tab = await tabs.open(first.address, 'alice');
      await tab.waitForTick(3);
      await first.close();
      second = await startDemo({ ...options, port: first.port });
      // A new process has a new history: the cursor is foreign to it, and the hub says so instead of ignoring it.
      expect(await tab.waitForReport('reset', 30_000)).toContain('could not resume');
      await tab.waitForState('open');
      await tab.waitForTick(3);
      // One reconnect, or two when the first came while the old server was closing (answered with a retry hint).
      const facts = await tab.facts();
      expect(facts).toMatchObject({ missing: 0, duplicates: 0 });
      expect(facts.reconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await first.close();
      await second?.close();
    }
  });
});
