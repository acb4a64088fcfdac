import type { Hub } from '@ssekit/core';
import { Chat } from './chat/chat.js';
import { PERF_TOPIC, PerformanceFeed } from './feeds/performance.js';
import { STOCKS_TOPIC, StockTicker } from './feeds/stocks.js';
import { WORDS, words } from './feeds/words.js';
import { Notifications } from './notifications.js';
import type { ApiRoute, Asset, DemoLogger, ResumableRoute, SseRoute } from './routes.js';

/** The two servers the demo runs on. */
export type Framework = 'express' | 'fastify';

/** How fast the feeds go, in ms. Tests speed them up; the defaults are for people watching. */
export interface FeedIntervals {
  /** Between stock ticks. Default 500. */
  tick?: number;
  /** Between performance samples. Default 1000. */
  perf?: number;
  /** Between words of the finite stream. Default 300. */
  word?: number;
  /** Between tokens of the chat panel's simulated model. Default 80. */
  chat?: number;
}

/** Who is serving: shown on the page and carried by performance samples and notifications. */
export interface DemoIdentity {
  /** This instance's name. Read at use time: a server on port 0 learns its port, and so its name, only once it listens. */
  instance: string;
  readonly framework: Framework;
  /** `memory` or `redis`. */
  readonly broker: 'memory' | 'redis';
}

export interface DemoAppOptions {
  hub: Hub;
  identity: DemoIdentity;
  /** Run the stock ticker here. In a cluster one instance ticks for all. Default true. */
  ticker?: boolean;
  intervals?: FeedIntervals;
  /** The `retry:` hint streams send, in ms: how long a dropped browser waits before it reconnects. Default 2000. */
  retry?: number;
  logger: DemoLogger;
  /** The page's files (see `loadAssets`). */
  assets: readonly Asset[];
}

/** Everything the demo serves, with no framework in sight: the servers only mount it. */
export interface DemoApp {
  readonly hub: Hub;
  readonly sseRoutes: readonly SseRoute[];
  /** `POST` routes whose answers are resumable streams: the chat panel's. */
  readonly resumableRoutes: readonly ResumableRoute[];
  readonly apiRoutes: readonly ApiRoute[];
  readonly assets: readonly Asset[];
  readonly logger: DemoLogger;
  /** Starts the feeds. */
  start(): void;
  /** Stops the feeds (the hub is closed by whoever created it). */
  stop(): void;
}

/** Builds the demo's routes and feeds around a hub. */
export function createDemoApp(options: DemoAppOptions): DemoApp {
  const { hub, identity, logger } = options;
  const intervals = { tick: 500, perf: 1000, word: 300, chat: 80, ...options.intervals };
  const retry = options.retry ?? 2000;
  // A broker that is down fails every publish; one line per failure streak, not one per tick.
  let failing = false;
  const onPublishError = (error: unknown) => {
    if (failing) return;
    failing = true;
    logger.error('publishing a feed event failed (is the broker reachable?)', error);
    setTimeout(() => (failing = false), 10_000).unref();
  };
  const ticker = options.ticker === false ? undefined : new StockTicker(hub, intervals.tick, onPublishError);
  const perf = new PerformanceFeed(hub, intervals.perf, identity, onPublishError);
  const notifications = new Notifications({ hub, identity, retry });
  const chat = new Chat({ identity, interval: intervals.chat, retry });

  const feedRoute = (path: string, topic: string): SseRoute => ({
    path,
    topics: () => [topic],
    retry,
    handle: () => {},
  });

  const sseRoutes: SseRoute[] = [
    notifications.connectRoute(),
    // One endpoint per feed, for curl and for pages that want one feed.
    feedRoute('/api/stocks', STOCKS_TOPIC),
    feedRoute('/api/perf', PERF_TOPIC),
    {
      path: '/api/words',
      // Only a client that ignores `done` would use it: it comes back after `retry` and hears the words again.
      retry,
      handle: async (stream) => {
        const result = await stream.pipe(words(intervals.word, stream.signal), { event: 'word', end: false });
        if (result.reason !== 'end') return;
        // The last event tells the page to close: an EventSource would otherwise reconnect and replay the words forever.
        stream.send({ words: WORDS.length }, { event: 'done' });
        stream.close();
      },
    },
  ];

  const apiRoutes: ApiRoute[] = [
    {
      method: 'GET',
      path: '/api/info',
      handle: () => ({
        status: 200,
        body: { ...identity, ticker: ticker !== undefined, retry, intervals },
      }),
    },
    ...notifications.apiRoutes(),
    ...chat.apiRoutes(),
  ];

  return {
    hub,
    sseRoutes,
    resumableRoutes: [chat.route()],
    apiRoutes,
    assets: options.assets,
    logger,
    start() {
      ticker?.start();
      perf.start();
    },
    stop() {
      ticker?.stop();
      perf.stop();
    },
  };
}
