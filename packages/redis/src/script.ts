import { createHash } from 'node:crypto';
import type { Connection } from './connection.js';
import { describeReply, unavailable } from './errors.js';
import { isStreamId } from './stream-id.js';

/**
 * The publish command, as one Lua script so that it is atomic:
 * 1. with an idempotency key (KEYS[3]) that is already set, returns the id stored under it and appends nothing: the
 *    first attempt of a retried publish was stored;
 * 2. reads the newest entry: its id is the previous link of the chain (`p`, '' for an empty stream) and its `g` the
 *    epoch of the log;
 * 3. when the stream is empty or gone (first use, DEL, FLUSHALL, a restart without data) or its epoch is unknown,
 *    starts a new epoch: Redis' time in microseconds, above the previous epoch's, kept as the one entry of the epoch
 *    stream (KEYS[2], id `<epoch>-0`). A number, so that Redis stores it in each entry as a compact integer. Readers block on that stream too, so a recreated log wakes them at
 *    once even when its ids are at or below their position;
 * 4. appends the entry with `p` and `g`, trimming to about `maxLength` entries (`MAXLEN ~`), and with a `maxAge`
 *    also trims entries older than `maxAge` ms by Redis' clock (`MINID ~`). The new entry is never trimmed: its id is
 *    at least Redis' current time, which is above the cut;
 * 5. with an idempotency key, stores the new id under it for `window` ms.
 * Returns the new entry's id.
 *
 * KEYS[1] = stream key; KEYS[2] = epoch stream key; KEYS[3] = idempotency key (optional).
 * ARGV[1] = maxLength; ARGV[2] = maxAge in ms ('0' for none); ARGV[3] = idempotency window in ms;
 * ARGV[4…] = field/value pairs.
 */
export const PUBLISH_SCRIPT = `local key = KEYS[1]
local idem = KEYS[3]
if idem then
  local first = redis.call('GET', idem)
  if first then return first end
end
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
local prev = ''
local epoch = false
if last[1] then
  prev = last[1][1]
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'g' then epoch = fields[i + 1] end
  end
end
if not epoch then
  local now = redis.call('TIME')
  local us = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local known = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if known[1] then
    local was = tonumber(string.match(known[1][1], '^(%d+)'))
    if was >= us then us = was + 1 end
  end
  epoch = string.format('%d', us)
  redis.call('XADD', KEYS[2], 'MAXLEN', '1', epoch .. '-0', 'g', epoch)
end
local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 'g', epoch, unpack(ARGV, 4))
local age = tonumber(ARGV[2])
if age > 0 then
  local now = redis.call('TIME')
  local cut = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - age
  if cut > 0 then redis.call('XTRIM', key, 'MINID', '~', string.format('%d', cut)) end
end
if idem then redis.call('SET', idem, id, 'PX', ARGV[3]) end
return id
`;

/** SHA1 of {@link PUBLISH_SCRIPT}, for `EVALSHA`. */
export const PUBLISH_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex');

/** What one publish appends: where, its fields (without `p` and `g`, which the script adds), and how it is bounded. */
export interface PublishCall {
  readonly key: string;
  readonly epochKey: string;
  /** The Redis key of the idempotency key, when the caller gave one. */
  readonly idempotencyKey: string | undefined;
  readonly maxLength: number;
  readonly maxAge: number | undefined;
  readonly idempotencyWindow: number;
  readonly fields: readonly string[];
}

/**
 * Runs the publish script by its SHA, and by its text when Redis does not know it (restarted, or its script cache
 * flushed). Resolves with the id of the stored entry (for a repeated idempotency key, the id of the first one).
 * @throws SseError `SSE_BROKER_UNAVAILABLE` when Redis refuses, fails or does not answer in time.
 */
export async function runPublish(connection: Connection, call: PublishCall): Promise<string> {
  const keys =
    call.idempotencyKey === undefined ? [call.key, call.epochKey] : [call.key, call.epochKey, call.idempotencyKey];
  const args = [
    'EVALSHA',
    PUBLISH_SHA,
    String(keys.length),
    ...keys,
    String(call.maxLength),
    String(call.maxAge ?? 0),
    String(call.idempotencyWindow),
    ...call.fields,
  ];
  let reply: unknown;
  try {
    reply = await connection.command(args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw unavailable(error, 'sent');
    args[0] = 'EVAL';
    args[1] = PUBLISH_SCRIPT;
    try {
      reply = await connection.command(args);
    } catch (retryError) {
      throw unavailable(retryError, 'sent');
    }
  }
  if (typeof reply !== 'string' || !isStreamId(reply)) {
    throw unavailable(new Error(`the publish script answered ${describeReply(reply)} instead of a stream id`), 'sent');
  }
  return reply;
}
