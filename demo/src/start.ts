import type { Hub } from '@ssekit/core';
import { createDemoApp, type DemoIdentity, type FeedIntervals, type Framework } from './app.js';
import { loadAssets } from './assets.js';
import { createDemoHub } from './hub.js';
import type { DemoLogger } from './routes.js';

/** Options of {@link startDemo}. Every one has a default; `pnpm demo` maps flags and environment onto them. */
export interface DemoOptions {
  /** Port to listen on; 0 picks a free one. Default 3000. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`; `0.0.0.0` to reach it from other machines. */
  host?: string;
  /** Default `express`. */
  framework?: Framework;
  /** Run on the Redis broker at this URL (e.g. `redis://127.0.0.1:6379`); default: the in-memory hub. */
  redisUrl?: string;
  /** The Redis stream key the instances share. Default `ssekit-demo:events`. */
  redisKey?: string;
  /** This instance's name on the page. Default `<framework>:<port>`. */
  instance?: string;
  /** Run the stock ticker on this instance. Default true; a cluster runs it on one instance only. */
  ticker?: boolean;
  intervals?: FeedIntervals;
  /** `retry:` hint in ms: how long a dropped browser waits before reconnecting. Default 2000. */
  retry?: number;
  /** On a graceful close, clients are told to come back after `retry … retry + jitter` ms. Default 1000 and 2000. */
  shutdown?: { retry?: number; jitter?: number };
  logger?: DemoLogger;
}

/** A running demo. */
export interface RunningDemo {
  /** What to open in a browser: `http://localhost:<port>` for a local address. */
  readonly url: string;
  /** The same server by its numeric address, e.g. `http://127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  readonly framework: Framework;
  readonly broker: 'memory' | 'redis';
  readonly instance: string;
  readonly hub: Hub;
  /** Graceful shutdown: stops the feeds, closes the hub (clients get a jittered `retry`), then the server. */
  close(): Promise<void>;
}

/** What each framework's server file returns once it listens. */
export interface DemoServer {
  readonly port: number;
  close(): Promise<void>;
}

const FRAMEWORKS: readonly Framework[] = ['express', 'fastify'];

/** The default logger: one line per message on stdout/stderr. */
export const consoleLogger: DemoLogger = {
  info: (message) => console.log(message),
  error: (message, error) => console.error(`[demo] ${message}`, ...(error === undefined ? [] : [error])),
};

/**
 * Starts the demo: a hub (in memory, or on Redis), the feeds, and the page with its API on Express or Fastify.
 * @throws TypeError for a bad option; the listen error (e.g. `EADDRINUSE`) when the port is taken.
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const framework = options.framework ?? 'express';
  if (!FRAMEWORKS.includes(framework)) {
    throw new TypeError(`Unknown framework ${JSON.stringify(framework)}: use "express" or "fastify".`);
  }
  const port = options.port ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`The port must be a whole number from 0 to 65535, got ${JSON.stringify(port)}.`);
  }
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? consoleLogger;

  const assets = await loadAssets();
  const { hub, broker } = await createDemoHub(options.redisUrl, options.redisKey);
  const identity: DemoIdentity = { instance: options.instance ?? '', framework, broker };
  const app = createDemoApp({
    hub,
    identity,
    ticker: options.ticker,
    intervals: options.intervals,
    retry: options.retry,
    logger,
    assets,
  });

  let server: DemoServer;
  try {
    // Each framework's file is loaded only when used: `pnpm demo` on Express never loads Fastify, and back.
    server =
      framework === 'express'
        ? await (await import('./express.js')).listenExpress(app, port, host)
        : await (await import('./fastify.js')).listenFastify(app, port, host);
  } catch (error) {
    await hub.close();
    throw error;
  }
  if (identity.instance === '') identity.instance = `${framework}:${server.port}`;
  app.start();

  let closing: Promise<void> | undefined;
  const shutdown = { retry: 1000, jitter: 2000, ...options.shutdown };
  return {
    url: `http://${displayHost(host)}:${server.port}`,
    address: `http://${numericHost(host)}:${server.port}`,
    port: server.port,
    framework,
    broker,
    instance: identity.instance,
    hub,
    close() {
      closing ??= (async () => {
        app.stop();
        await hub.close(shutdown);
        await server.close();
      })();
      return closing;
    },
  };
}

function displayHost(host: string): string {
  return ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(host) ? 'localhost' : bracket(host);
}

function numericHost(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return bracket(host);
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
