import type { Broker, OutgoingEnvelope, Target } from './broker-contract.js';
import { SseTypeError } from './errors.js';
import type { FailureLog } from './failure-log.js';
import { readSendOptions, type SendOptions, serializeData } from './frame.js';
import type { ResolvedHubOptions } from './hub-options.js';
import type { HubCounters } from './hub-stats.js';
import type { HubMetrics } from './metrics.js';

/** What a hub's publish path uses: its options, broker, counters, failure log and metrics. */
export interface PublishContext {
  readonly opts: ResolvedHubOptions;
  readonly broker: Broker;
  readonly counters: HubCounters;
  readonly failures: FailureLog;
  readonly metrics: HubMetrics | undefined;
}

/**
 * Serializes `data`, checks the send options and hands the envelope for `target` to the broker; resolves with the
 * event's id. A rejection is counted and logged, whether or not the caller awaits it.
 */
export function publishEnvelope(
  ctx: PublishContext,
  target: Target,
  data: unknown,
  options: SendOptions | undefined,
): Promise<string> {
  const text = serializeData(data, ctx.opts.serializer);
  let envelope: OutgoingEnvelope = { target, data: text };
  if (options !== undefined) {
    const { event, id, retry, idempotencyKey } = readSendOptions(options);
    // The caller's mistake, not the broker's failure: thrown here, before anything is published, counted or logged.
    if (id !== undefined && ctx.broker.assignsIds === true) {
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        "This hub's broker assigns event ids itself (with @ssekit/redis, Redis stream ids: ordered across instances and used for Last-Event-ID resume), so `id` cannot be set. Put your own id in the data instead.",
      );
    }
    envelope = { target, data: text, event, retry, id, idempotencyKey };
  }
  let result: string | Promise<string>;
  try {
    result = ctx.metrics === undefined ? ctx.broker.publish(envelope) : ctx.metrics.publish(ctx.broker, envelope);
  } catch (error) {
    result = Promise.reject(error);
  }
  if (typeof result === 'string') {
    ctx.counters.published++;
    return Promise.resolve(result);
  }
  const accepted = Promise.resolve(result).then((id) => {
    ctx.counters.published++;
    return id;
  });
  // The caller who awaits still gets the rejection; one who does not (a fire-and-forget broadcast while Redis is
  // down) must not crash the process with an unhandled rejection: the failure is counted and logged instead.
  accepted.catch((error: unknown) => {
    ctx.counters.failed++;
    ctx.failures.record(error);
  });
  return accepted;
}
