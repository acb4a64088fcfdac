import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientBundle } from '../../scripts/client-bundle.js';
import { chromiumRequirement, launchChromium } from '../support/browser.js';
import { serveRecorded, sseHead } from '../support/recording-server.js';
import { closeAfterEach } from '../support/teardown.js';

// @ssekit/client in a real Chromium, as the browser bundle an app ships (scripts/client-bundle.ts): a page POSTs a
// prompt, the server starts a resumable stream, the network drops mid-answer (the server destroys the socket) and
// the client resumes it with the key and Last-Event-ID, without sending the prompt again.

const requirement = chromiumRequirement();
const teardown = closeAfterEach();
const KEY = 'chromium-key';
const TOKENS = ['Hello', ', ', 'world', '!', ' Bye', '.'];
const LOG = [
  `id: 1\nevent: ssekit-stream\ndata: {"key":"${KEY}"}\n\n`,
  ...TOKENS.map((text, i) => `id: ${i + 2}\nevent: token\ndata: ${JSON.stringify({ text })}\n\n`),
  `id: ${TOKENS.length + 2}\nevent: ssekit-done\ndata: {}\n\n`,
];

describe.skipIf(requirement.skip)('@ssekit/client in Chromium', () => {
  let chromium: { browser: Browser; close(): Promise<void> };
  let bundle: string;

  beforeAll(async () => {
    [chromium, bundle] = await Promise.all([launchChromium(), clientBundle()]);
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it('resumes a POSTed answer after the connection drops, with every token once and the prompt sent once', async () => {
    const server = teardown.track(
      await serveRecorded((req, res) => {
        if (req.url === '/') {
          return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>client</title>');
        }
        if (req.url === '/client.js') {
          return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
        }
        sseHead(res, { 'ssekit-stream-key': KEY });
        const from = Number(req.headers['last-event-id'] ?? 0);
        if (from === 0) {
          // Half the answer, then a network drop.
          res.write(LOG.slice(0, 4).join(''));
          setTimeout(() => res.destroy(), 50);
        } else res.end(LOG.slice(from).join(''));
      }),
    );
    const page = await chromium.browser.newPage();
    teardown.defer(() => page.close());
    await page.goto(`${server.url}/`);
    const result = await page.evaluate(`(async () => {
      const { connect } = await import('/client.js');
      const answer = connect('/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hi' }),
        retry: { initialDelay: 50 },
      });
      const texts = [];
      for await (const event of answer) texts.push(event.data.text);
      return { texts, streamKey: answer.streamKey, state: answer.state };
    })()`);
    expect(result).toEqual({ texts: TOKENS, streamKey: KEY, state: 'closed' });
    const streams = server.requests
      .filter((r) => r.url === '/chat')
      .map((r) => [r.method, r.body, r.headers['ssekit-stream-key'], r.headers['last-event-id']]);
    // The prompt went once, with the first request; every reconnect carries the key and no body. On a loaded machine
    // the drop can come before the page read the first events: that reconnect has no Last-Event-ID (it reads from
    // the start, and the events are still delivered once); the one that completes the answer resumes from id 4.
    expect(streams[0]).toEqual(['POST', '{"prompt":"hi"}', undefined, undefined]);
    for (const reconnect of streams.slice(1)) expect(reconnect.slice(0, 3)).toEqual(['POST', '', KEY]);
    expect(streams.at(-1)).toEqual(['POST', '', KEY, '4']);
  });
});
