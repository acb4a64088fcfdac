import type { Broker } from './broker-contract.js';
import { SseError, SseRangeError, SseTypeError } from './errors.js';
import { checkEvent, checkRetry, jsonSerializer, type Serializer } from './frame.js';
import type { HistoryOptions } from './history.js';
import { MemoryBroker } from './memory-broker.js';
import type { Logger } from './stream-options.js';
import { assertKnownOptions, describe, functionOption } from './validate.js';

/**
 * What a client gets when a connection limit is reached.
 * - `retry` (default): status 200, a `retry:` hint and an immediate end. `EventSource` treats any non-200 as fatal
 *   and never reconnects; this answer makes it come back after `retry` ms instead.
 * - `status`: a plain HTTP error (default 503) with `Retry-After`, for clients that handle it themselves.
 */
export type LimitResponse =
  | { type: 'retry'; retry?: number }
  | { type: 'status'; status?: number; retryAfter?: number };

/** A {@link LimitResponse} with its defaults applied: what `hub.limitResponse` holds. */
export type ResolvedLimitResponse =
  | { readonly type: 'retry'; readonly retry: number }
  | { readonly type: 'status'; readonly status: number; readonly retryAfter: number };

/** Options of {@link createHub}. */
export interface HubOptions {
  /** The transport. Default: an in-memory broker with `history`. */
  broker?: Broker;
  /** History for `Last-Event-ID` resume, for the default in-memory broker. Default `{ size: 1000 }`; `false` for none. */
  history?: HistoryOptions | false;
  /** Turns non-string data into text, once per publish. Default `JSON.stringify`. */
  serializer?: Serializer;
  /** Most connections this hub accepts at once. Default: no limit. */
  maxConnections?: number;
  /** Most connections one client id may hold at once (browser tabs). Default: no limit. */
  maxConnectionsPerClient?: number;
  /** How a connection over a limit is answered. Default `{ type: 'retry', retry: 5000 }`. */
  limitResponse?: LimitResponse;
  /**
   * Event sent to a client whose `Last-Event-ID` cannot be resumed from (unknown, expired or malformed), so it can
   * refetch its state. Its data is JSON `{ reason, lastEventId? }`, its id the newest id. `false` sends only the id.
   * Default `'ssekit-reset'`.
   */
  resetEvent?: string | false;
  /** Where broker failures and listener errors are reported. Default `console`. */
  logger?: Logger;
  /**
   * The hub's name in its metrics (attribute `ssekit.hub`): 1 to 64 letters, digits, `.`, `_`, `-` or `:`, unique
   * among the open hubs that record metrics. Default `hub-1`, `hub-2`, … in creation order.
   */
  name?: string;
  /**
   * Records metrics through OpenTelemetry (docs/observability.md). Default `true`: through `meterProvider`, or the
   * global meter provider once an SDK registered one; nothing is recorded while `@opentelemetry/api` is not installed
   * or no SDK is registered. `false` records nothing.
   */
  metrics?: boolean;
  /** The OpenTelemetry meter provider to record to, e.g. an SDK `MeterProvider`. Default: the global one. */
  meterProvider?: MeterProviderLike;
}

/**
 * What ssekit needs of an OpenTelemetry `MeterProvider` (an SDK's, or `metrics.getMeterProvider()` from
 * `@opentelemetry/api`): declared here so that ssekit's types do not require `@opentelemetry/api` to be installed.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: object): object;
}

/** Hub options after validation, with the default broker created. */
export interface ResolvedHubOptions {
  broker: Broker;
  serializer: Serializer;
  logger: Logger;
  maxConnections: number;
  maxConnectionsPerClient: number;
  limitResponse: ResolvedLimitResponse;
  resetEvent: string | false;
  /** The explicit name, if one was given (the hub names itself otherwise). */
  name: string | undefined;
  metrics: boolean;
  meterProvider: MeterProviderLike | undefined;
}

const HUB_OPTION_KEYS = [
  'broker',
  'history',
  'serializer',
  'maxConnections',
  'maxConnectionsPerClient',
  'limitResponse',
  'resetEvent',
  'logger',
  'name',
  'metrics',
  'meterProvider',
] as const;

const HUB_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/** Validates the options of {@link createHub}, once. Throws on a bad or unknown option. */
export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  if (options === null || typeof options !== 'object') {
    throw new SseTypeError('SSE_INVALID_OPTION', `Hub options must be an object, got ${describe(options)}.`);
  }
  assertKnownOptions('createHub()', options, HUB_OPTION_KEYS);
  if (options.broker !== undefined && options.history !== undefined) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      'Options `broker` and `history` cannot be combined: configure history on the broker you pass.',
    );
  }
  if (options.broker !== undefined) assertBroker(options.broker);
  const broker = options.broker ?? new MemoryBroker(options.history === undefined ? {} : { history: options.history });
  const serializer = functionOption<Serializer>('serializer', options.serializer) ?? jsonSerializer;
  const logger = options.logger ?? console;
  const maxConnections = limitOption('maxConnections', options.maxConnections);
  const maxConnectionsPerClient = limitOption('maxConnectionsPerClient', options.maxConnectionsPerClient);
  const limitResponse = checkLimitResponse(options.limitResponse);
  if (options.resetEvent !== undefined && options.resetEvent !== false) checkEvent(options.resetEvent);
  const resetEvent = options.resetEvent ?? 'ssekit-reset';
  const name = checkName(options.name);
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`metrics\` must be true or false, got ${describe(options.metrics)}.`,
    );
  }
  const metrics = options.metrics ?? true;
  const meterProvider = checkMeterProvider(options.meterProvider);
  if (!metrics && meterProvider !== undefined) {
    throw new SseError(
      'SSE_INVALID_OPTION',
      'Options `metrics: false` and `meterProvider` contradict each other: drop one of them.',
    );
  }
  return {
    broker,
    serializer,
    logger,
    maxConnections,
    maxConnectionsPerClient,
    limitResponse,
    resetEvent,
    name,
    metrics,
    meterProvider,
  };
}

function checkName(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !HUB_NAME.test(value)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`name\` must be 1 to 64 letters, digits, ".", "_", "-" or ":" (it becomes a metric attribute), got ${describe(value)}.`,
    );
  }
  return value;
}

function checkMeterProvider(value: unknown): MeterProviderLike | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || typeof (value as MeterProviderLike).getMeter !== 'function') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`meterProvider\` must be an OpenTelemetry MeterProvider (with getMeter()), got ${describe(value)}.`,
    );
  }
  return value as MeterProviderLike;
}

function limitOption(name: string, value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    const message = `Option \`${name}\` must be a positive whole number, got ${describe(value)}.`;
    // A number out of range is a RangeError, like every other size option; anything else is the wrong type.
    if (typeof value === 'number') throw new SseRangeError('SSE_INVALID_OPTION', message);
    throw new SseTypeError('SSE_INVALID_OPTION', message);
  }
  return value;
}

function checkLimitResponse(value: unknown): ResolvedLimitResponse {
  if (value === undefined) return { type: 'retry', retry: 5000 };
  const v = value as Partial<LimitResponse> & Record<string, unknown>;
  if (v !== null && typeof v === 'object' && v.type === 'retry') {
    assertKnownOptions('limitResponse', v, ['type', 'retry']);
    if (v.retry !== undefined) checkRetry(v.retry);
    return { type: 'retry', retry: (v.retry as number | undefined) ?? 5000 };
  }
  if (v !== null && typeof v === 'object' && v.type === 'status') {
    assertKnownOptions('limitResponse', v, ['type', 'status', 'retryAfter']);
    const status = (v.status as number | undefined) ?? 503;
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `limitResponse.status must be a 4xx or 5xx code, got ${describe(status)}.`,
      );
    }
    if (v.retryAfter !== undefined) checkRetry(v.retryAfter);
    return { type: 'status', status, retryAfter: (v.retryAfter as number | undefined) ?? 5 };
  }
  throw new SseTypeError(
    'SSE_INVALID_OPTION',
    "Option `limitResponse` must be { type: 'retry', retry? } or { type: 'status', status?, retryAfter? }.",
  );
}

function assertBroker(broker: unknown): void {
  const b = broker as Partial<Broker> | null;
  for (const method of ['start', 'publish', 'replay', 'close'] as const) {
    if (b === null || typeof b !== 'object' || typeof b[method] !== 'function') {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`broker\` must implement Broker: \`${method}()\` is missing.`,
      );
    }
  }
  const streams = (b as { streams?: Record<string, unknown> } | null)?.streams;
  if (streams !== undefined) {
    for (const method of [
      'create',
      'append',
      'read',
      'follow',
      'cancel',
      'onCancel',
      'setReaders',
      'hasReaders',
      'close',
    ]) {
      if (streams === null || typeof streams !== 'object' || typeof streams[method] !== 'function') {
        throw new SseTypeError(
          'SSE_INVALID_OPTION',
          `Option \`broker\`: \`streams\`, when present, must implement StreamLog: \`${method}()\` is missing.`,
        );
      }
    }
  }
  if (b?.control !== undefined && typeof b.control !== 'function') {
    throw new SseTypeError('SSE_INVALID_OPTION', 'Option `broker`: `control`, when present, must be a method.');
  }
}
