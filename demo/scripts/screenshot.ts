/**
 * Takes docs/demo.png: the demo with two tabs talking, a finished word stream and a resumed connection.
 * Run: pnpm --filter @ssekit/demo screenshot (Debian's chromium, never a downloaded browser).
 */
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../../test/support/browser.js';
import { startDemo } from '../src/start.js';

const OUT = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));

const demo = await startDemo({
  port: 0,
  // Faster than the defaults, so the sparklines fill up within seconds.
  intervals: { tick: 300, perf: 500, word: 60 },
  retry: 1000,
  logger: { info: () => {}, error: (message, error) => console.error(message, error) },
});
const chromium = await launchChromium();
try {
  const context = await chromium.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const alice = await context.newPage();
  const bob = await context.newPage();
  await bob.goto(`${demo.address}/?clientId=bob`);
  await alice.goto(`${demo.address}/?clientId=alice`);
  // The page in front is the one that renders and animates; a background page would be caught mid-animation.
  await alice.bringToFront();
  // The page's own code runs in the browser, so it is given as text (this file is type-checked without the DOM).
  await alice.waitForFunction("Number(document.getElementById('tick-seq').dataset.seq) >= 55", undefined, {
    timeout: 30_000,
  });

  await bob.fill('#target', 'alice');
  await bob.fill('#message', 'Hi Alice, this one is only for you.');
  await bob.click('#send');
  await alice.fill('#message', 'Deploy finished: v2.4.1 is live.');
  await alice.click('#send-all');
  await alice.fill('#target', 'bob');

  await alice.click('#words-start');
  await alice.waitForSelector('#words-state[data-state="done"]', { timeout: 30_000 });

  await alice.click('#drop');
  await alice.waitForSelector('#resume-info[data-state="resumed"]', { timeout: 30_000 });
  // Right after the resume, so the log still shows the replayed events.
  await alice.mouse.move(0, 0);
  await alice.screenshot({ path: OUT, fullPage: true });
  console.log(`wrote ${OUT}`);
} finally {
  await chromium.close();
  await demo.close();
}
