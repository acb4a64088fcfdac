import type { Producer, StreamItem } from '@ssekit/core';
import type { ChatEvents } from '../chat-events.js';
import { type ApiRoute, HttpError, type ResumableRoute } from '../routes.js';
import { answerTokens, MAX_PROMPT_LENGTH, simulateModel } from './model.js';

/** What the simulated model did on this instance: `GET /api/chat/stats`, for people and tests to check a cancel. */
export interface ChatStats {
  /** Generations started here. */
  started: number;
  /** Generations that produced every token. */
  finished: number;
  /** Generations running now. */
  running: number;
  /** Generations whose signal aborted, by `signal.reason` (`cancelled`, `abandoned`, `lost`, `too-large`). */
  aborted: Record<string, number>;
}

export interface ChatOptions {
  /** Read at use time (see `DemoIdentity`). */
  readonly identity: { readonly instance: string };
  /** Milliseconds between two tokens of the simulated model. */
  readonly interval: number;
  /** The `retry:` hint of chat streams, in ms: how long a dropped client waits before it resumes. */
  readonly retry: number;
}

/**
 * The chat panel's server side: `POST /api/chat` with `{ "prompt": "…" }` starts a resumable stream whose producer is
 * the simulated model; the same URL with the stream's key resumes or cancels it (handled by ssekit, not here).
 */
export class Chat {
  readonly stats: ChatStats = { started: 0, finished: 0, running: 0, aborted: {} };

  constructor(private readonly options: ChatOptions) {}

  /** `POST /api/chat`: a resumable route. */
  route(): ResumableRoute {
    return {
      path: '/api/chat',
      // The key (128 random bits) is the capability; a real app adds `owner` from its session.
      resumable: {},
      retry: this.options.retry,
      // Which instance answered each connection: the page shows where a resume landed.
      headers: () => ({ 'x-demo-instance': this.options.identity.instance }),
      validate: (body) => {
        promptOf(body);
      },
      handle: async (stream, req) => {
        await stream.resumable<ChatEvents>(this.producer(promptOf(req.body)));
      },
    };
  }

  /** `GET /api/chat/stats`. */
  apiRoutes(): ApiRoute[] {
    return [{ method: 'GET', path: '/api/chat/stats', handle: () => ({ status: 200, body: this.stats }) }];
  }

  /** The producer of one answer: runs once per stream, whoever reads it, until the end or its signal aborts. */
  private producer(prompt: string): Producer<ChatEvents> {
    const { stats, options } = this;
    return async function* answer(signal): AsyncGenerator<StreamItem<ChatEvents>> {
      const started = Date.now();
      stats.started++;
      stats.running++;
      const onAbort = () => {
        const reason = String(signal.reason);
        stats.aborted[reason] = (stats.aborted[reason] ?? 0) + 1;
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        yield { event: 'answer', data: { instance: options.identity.instance, tokens: answerTokens(prompt).length } };
        let index = 0;
        for await (const text of simulateModel(prompt, { interval: options.interval, signal })) {
          yield { event: 'token', data: { index: index++, text } };
        }
        yield { event: 'usage', data: { tokens: index, ms: Date.now() - started } };
        stats.finished++;
      } finally {
        stats.running--;
        signal.removeEventListener('abort', onAbort);
      }
    };
  }
}

/** The prompt of a start request's JSON body, or a 400 that says what to send. */
function promptOf(body: unknown): string {
  const prompt = (body as { prompt?: unknown } | undefined)?.prompt;
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    throw new HttpError(400, 'NO_PROMPT', 'Send a JSON body with a non-empty "prompt" string.');
  }
  if (prompt.length > MAX_PROMPT_LENGTH) {
    throw new HttpError(400, 'PROMPT_TOO_LONG', `The prompt is longer than ${MAX_PROMPT_LENGTH} characters.`);
  }
  return prompt;
}
