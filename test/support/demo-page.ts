import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beforeEach, expect } from 'vitest';
import { closeAfterEach } from './teardown.js';

// The demo page as a user sees it, for the Chromium tests of the demo: every read goes through the DOM (text and
// data attributes the page renders), never through the page's variables.

/** What the connection panel shows. */
export interface ConnectionFacts {
  state: string;
  lastEventId: string;
  received: number;
  reconnects: number;
  missing: number;
  duplicates: number;
}

/** What the chat panel shows. */
export interface ChatFacts {
  /** `streaming`, `dropped`, `done`, `stopping`, `stopped` or `error`. */
  status: string;
  statusText: string;
  answer: string;
  tokens: number;
  connections: number;
  missing: number;
  repeated: number;
  /** The panel's log: what happened to the answer (`start`, `drop`, `resume`, `usage`), with the instance. */
  log: { kind: string; instance: string; text: string }[];
}

/** One tab of the demo, opened with a client id of the test's choosing. */
export class DemoPage {
  /** Uncaught errors of the page's script: a demo that throws is broken even when it looks fine. */
  readonly errors: string[] = [];

  private constructor(readonly page: Page) {
    page.on('pageerror', (error) => this.errors.push(error.message));
  }

  /** Opens `baseUrl` as `clientId` and waits until its connection is open. */
  static async open(context: BrowserContext, baseUrl: string, clientId: string): Promise<DemoPage> {
    const demo = new DemoPage(await context.newPage());
    await demo.page.goto(`${baseUrl}/?clientId=${encodeURIComponent(clientId)}`);
    await demo.waitForState('open');
    return demo;
  }

  /**
   * Clicks like a user: on the tab in front. A background tab gets no animation frames, and Playwright's wait for a
   * stable element would stall on them.
   */
  async click(selector: string): Promise<void> {
    await this.page.bringToFront();
    await this.page.click(selector);
  }

  /** Types into a field of the tab, brought to the front first (see {@link DemoPage.click}). */
  async fill(selector: string, value: string): Promise<void> {
    await this.page.bringToFront();
    await this.page.fill(selector, value);
  }

  async waitForState(state: string, timeout = 15_000): Promise<void> {
    await this.page.waitForSelector(`#conn-state[data-state="${state}"]`, { timeout });
  }

  async facts(): Promise<ConnectionFacts> {
    const text = async (id: string) => ((await this.page.locator(`#${id}`).textContent()) ?? '').trim();
    const gaps = this.page.locator('#gaps');
    return {
      state: (await this.page.locator('#conn-state').getAttribute('data-state')) ?? '',
      lastEventId: await text('last-event-id'),
      received: Number(await text('events-received')),
      reconnects: Number(await text('reconnects')),
      missing: Number(await gaps.getAttribute('data-gaps')),
      duplicates: Number(await gaps.getAttribute('data-duplicates')),
    };
  }

  /** The number of the last stock tick shown (0 before the first). */
  async tickSeq(): Promise<number> {
    return Number((await this.page.locator('#tick-seq').getAttribute('data-seq')) || 0);
  }

  /** Waits until the ticker shows tick `seq` or a later one. */
  async waitForTick(seq: number, timeout = 15_000): Promise<void> {
    await this.page.waitForFunction(`Number(document.getElementById('tick-seq').dataset.seq) >= ${seq}`, undefined, {
      timeout,
    });
  }

  /** Sends `message` to `target` with the form (`POST /api/sse/send/:clientId`); resolves with the event id. */
  async sendTo(target: string, message: string): Promise<string> {
    await this.fill('#target', target);
    await this.fill('#message', message);
    return this.submit(`/api/sse/send/${encodeURIComponent(target)}`, '#send');
  }

  /** Sends `message` to every client (`POST /api/sse/sendAll`); resolves with the event id. */
  async sendAll(message: string): Promise<string> {
    await this.fill('#message', message);
    return this.submit('/api/sse/sendAll', '#send-all');
  }

  /** Clicks `button`, waits for the page's POST to `path` and for the page to show the event id it got back. */
  private async submit(path: string, button: string): Promise<string> {
    const [response] = await Promise.all([
      this.page.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() === 'POST'),
      this.click(button),
    ]);
    const { id } = (await response.json()) as { id: string };
    await this.page.locator('#send-result.ok', { hasText: id }).waitFor();
    return id;
  }

  /** The messages in this tab's inbox, newest first. */
  async notifications(): Promise<string[]> {
    return this.page.locator('#inbox .note .message').allTextContents();
  }

  async waitForNotification(message: string, timeout = 15_000): Promise<void> {
    await this.page.locator('#inbox .note .message', { hasText: message }).first().waitFor({ timeout });
  }

  /** Presses "Drop connection". */
  async drop(): Promise<void> {
    await this.click('#drop');
  }

  /** Asks the chat panel `prompt` and waits for the page's POST to start the stream. */
  async ask(prompt: string): Promise<void> {
    await this.fill('#chat-prompt', prompt);
    await Promise.all([
      this.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/chat' && r.request().method() === 'POST'),
      this.click('#chat-ask'),
    ]);
  }

  /**
   * Asks `prompt`, drops the answer's connection after 10 tokens with the panel's button (the page resumes it), and
   * waits until the answer is done or failed.
   */
  async askAndDrop(prompt: string): Promise<ChatFacts> {
    await this.ask(prompt);
    await this.waitForTokens(10);
    await this.click('#chat-drop');
    return this.waitForChat(['done', 'error']);
  }

  /** Waits until the chat's answer shows `count` tokens or more. */
  async waitForTokens(count: number, timeout = 15_000): Promise<void> {
    await this.page.waitForFunction(
      `Number(document.getElementById('chat-answer').dataset.tokens) >= ${count}`,
      undefined,
      { timeout },
    );
  }

  /** Waits until the chat's status is one of `states`. */
  async waitForChat(states: string[], timeout = 15_000): Promise<ChatFacts> {
    const selector = states.map((state) => `[data-state="${state}"]`).join(', ');
    await this.page.waitForSelector(`#chat-status:is(${selector})`, { timeout });
    return this.chat();
  }

  async chat(): Promise<ChatFacts> {
    return (await this.page.evaluate(`(() => {
      const $ = (id) => document.getElementById(id);
      return {
        status: $('chat-status').dataset.state,
        statusText: $('chat-status').textContent.trim(),
        answer: $('chat-answer').textContent,
        tokens: Number($('chat-answer').dataset.tokens),
        connections: Number($('chat-connections').textContent),
        missing: Number($('chat-gaps').dataset.missing),
        repeated: Number($('chat-gaps').dataset.repeated),
        log: [...document.querySelectorAll('#chat-log li')].map((li) => ({
          kind: li.dataset.kind, instance: li.dataset.instance ?? '', text: li.textContent,
        })),
      };
    })()`)) as ChatFacts;
  }

  /** Waits for the resume report and returns its state (`resumed`, `gap`, `reset`) and text. */
  /**
   * Waits until the resume report says `state` ('reset', 'resumed'...); on a timeout, fails with what the page shows
   * instead (connection facts, the report, the last events it logged), which a bare selector timeout does not say.
   */
  async waitForReport(state: string, timeout = 15_000): Promise<string> {
    try {
      const node = await this.page.waitForSelector(`#resume-info[data-state="${state}"]`, { timeout });
      return ((await node.textContent()) ?? '').trim();
    } catch (error) {
      // A string, evaluated in the page: this package is typed without the DOM library.
      const shown = await this.page
        .evaluate(`({
          conn: document.getElementById('conn-state')?.textContent?.trim(),
          report: document.getElementById('resume-info')?.dataset.state,
          reportText: document.getElementById('resume-info')?.textContent?.trim(),
          log: [...document.querySelectorAll('#log li')].slice(0, 8).map((li) => li.textContent?.trim()),
        })`)
        .catch((e: unknown) => String(e));
      const facts = await this.facts().catch((e: unknown) => String(e));
      throw new Error(
        `The resume report did not say "${state}" within ${timeout} ms. The page shows ${JSON.stringify(shown)}; ` +
          `facts ${JSON.stringify(facts)}; page errors ${JSON.stringify(this.errors)}.`,
        { cause: error },
      );
    }
  }

  async waitForResume(timeout = 15_000): Promise<{ state: string; text: string }> {
    const node = await this.page.waitForSelector('#resume-info:is([data-state="resumed"], [data-state="gap"])', {
      timeout,
    });
    return { state: (await node.getAttribute('data-state')) ?? '', text: ((await node.textContent()) ?? '').trim() };
  }
}

/** Demo tabs for the tests of a describe block; see {@link demoTabsPerTest}. */
export interface DemoTabs {
  /** `name` made unique to the running test: tests share a demo server, its hub and its history. */
  id(name: string): string;
  /** Opens the demo at `baseUrl` as client `id(name)` and waits until its connection is open. */
  open(baseUrl: string, name: string): Promise<DemoPage>;
}

/**
 * Gives each test of the calling describe block a fresh browser context of `browser()` (read when the test starts)
 * and client ids of its own. After the test the context closes, and every tab it opened must have run without an
 * uncaught error.
 */
export function demoTabsPerTest(browser: () => Browser): DemoTabs {
  let context: BrowserContext | undefined;
  const tabs: DemoPage[] = [];
  let run = 0;
  const teardown = closeAfterEach();
  beforeEach(async () => {
    run++;
    const opened = await browser().newContext({ viewport: { width: 1440, height: 1400 } });
    context = opened;
    teardown.defer(async () => {
      await opened.close();
      for (const tab of tabs.splice(0)) expect(tab.errors).toEqual([]);
    });
  });
  const id = (name: string) => `${name}-${run}`;
  return {
    id,
    async open(baseUrl, name) {
      if (context === undefined) throw new Error('Demo tabs open in tests only (the context starts in beforeEach).');
      const tab = await DemoPage.open(context, baseUrl, id(name));
      tabs.push(tab);
      return tab;
    },
  };
}
