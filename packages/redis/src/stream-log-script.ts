import { createHash } from 'node:crypto';
import { SseError } from '@ssekit/core';
import { CommandTimeoutError, type Connection } from './connection.js';
import { describeReply, isReplyError } from './errors.js';

// The Lua scripts of the Redis stream log. Each touches the keys of one stream only (one hash tag), and each is
// atomic, which is what makes `create` exactly-once, `append` fenced and `read` consistent across instances.
//
// The meta HASH of a stream: g = generation, o = '+' .. owner (absent: no owner), n = entries, b = data bytes,
// me = maxEvents, mb = maxBytes, t = ttl ms, tt = tombstone ms, e = how it ended (absent while it runs),
// pl = producer lease ms, p = when the producer's lease lapses (Redis' clock, ms).
// Every write that appends also pushes the expiry of the meta and the list to `t` ms from now and the tombstone's
// to `t + tt`, and announces the entry on the stream's channel as `<seq> <generation> <entry>`.

/** The parts of a stream's expiry and announcement every appending script repeats. */
const APPENDED = `
local function appended(meta, log, tomb, ttl, tombstone, channel, n, generation, element)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', log, ttl)
  redis.call('SET', tomb, '1', 'PX', tonumber(ttl) + tonumber(tombstone))
  redis.call('PUBLISH', channel, n .. ' ' .. generation .. ' ' .. element)
end
`;

/** Redis' clock in ms, in a script (instances' clocks may disagree; Redis' is the one every lease is measured on). */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: meta, log, tomb. ARGV: generation, owner ('-' none, '+name'), maxEvents, maxBytes, ttl, tombstone,
 * producer lease.
 * Returns 1 when it created the stream, 0 when one exists. A leftover list (its meta gone first) is removed.
 */
export const CREATE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'g', ARGV[1], 'n', 0, 'b', 0, 'me', ARGV[3], 'mb', ARGV[4], 't', ARGV[5], 'tt', ARGV[6],
  'pl', ARGV[7], 'p', now + tonumber(ARGV[7]))
if ARGV[2] ~= '-' then redis.call('HSET', KEYS[1], 'o', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[3], '1', 'PX', tonumber(ARGV[5]) + tonumber(ARGV[6]))
return 1
`;

/**
 * KEYS: meta, log, tomb. ARGV: generation, entry text, data bytes, end ('' none, 'done' or an error reason),
 * the too-large entry text, channel.
 * Returns {0} stopped (other generation, ended, gone), {1, seq} appended, {2, seq} full: the too-large entry was
 * appended instead. One slot is kept for the terminal entry, so a stream never holds more than maxEvents entries;
 * a terminal entry is not checked against maxBytes (it is small, and a stream must be able to end). An append
 * renews the producer's lease.
 */
export const APPEND = `${APPENDED}
${NOW}
local m = redis.call('HMGET', KEYS[1], 'g', 'e', 'n', 'b', 'me', 'mb', 't', 'tt', 'pl')
if m[1] ~= ARGV[1] or m[2] then return {0} end
local n = tonumber(m[3])
local b = tonumber(m[4])
local bytes = tonumber(ARGV[3])
local element = ARGV[2]
local ended = ARGV[4]
local status = 1
if ended == '' and (n + 2 > tonumber(m[5]) or b + bytes > tonumber(m[6])) then
  element = ARGV[5]
  ended = 'too-large'
  bytes = 0
  status = 2
end
n = n + 1
redis.call('RPUSH', KEYS[2], element)
if ended == '' and m[9] then
  redis.call('HSET', KEYS[1], 'n', n, 'b', b + bytes, 'p', now + tonumber(m[9]))
elseif ended == '' then
  redis.call('HSET', KEYS[1], 'n', n, 'b', b + bytes)
else
  redis.call('HSET', KEYS[1], 'n', n, 'b', b + bytes, 'e', ended)
end
appended(KEYS[1], KEYS[2], KEYS[3], m[7], m[8], ARGV[6], n, m[1], element)
return {status, n}
`;

/**
 * KEYS: meta, log, tomb. ARGV: the cancelled entry text, channel, cancel channel, cancel message.
 * Returns 'cancelled', 'ended' or 'unknown'.
 */
export const CANCEL = `${APPENDED}
local m = redis.call('HMGET', KEYS[1], 'g', 'e', 'n', 't', 'tt')
if not m[1] then return 'unknown' end
if m[2] then return 'ended' end
local n = tonumber(m[3]) + 1
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'n', n, 'e', 'cancelled')
appended(KEYS[1], KEYS[2], KEYS[3], m[4], m[5], ARGV[2], n, m[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 'cancelled'
`;

/**
 * KEYS: meta, log, tomb. ARGV: after (entries before it are skipped), count.
 * Returns {'unknown'}, {'expired'} or {'ok', generation, owner ('-' or '+name'), {entries…}}.
 */
export const READ = `local m = redis.call('HMGET', KEYS[1], 'g', 'o', 'e')
if not m[1] then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {'expired'} end
  return {'unknown'}
end
local from = tonumber(ARGV[1])
return {'ok', m[1], m[2] or '-', redis.call('LRANGE', KEYS[2], from, from + tonumber(ARGV[2]) - 1),
  redis.call('LLEN', KEYS[2]), m[3] or ''}
`;

/**
 * KEYS: meta. ARGV: generation. Renews the producer's lease of a stream of that generation that has not ended.
 * Returns 1 renewed, 0 not (ended, recreated or gone).
 */
export const RENEW = `${NOW}
local m = redis.call('HMGET', KEYS[1], 'g', 'e', 'pl')
if m[1] ~= ARGV[1] or m[2] or not m[3] then return 0 end
redis.call('HSET', KEYS[1], 'p', now + tonumber(m[3]))
return 1
`;

/**
 * KEYS: meta, log, tomb. ARGV: the lost entry text, channel.
 * Returns 'gone' (no such stream), 'ended', 'live' (its producer's lease holds) or 'lost': the lease had lapsed
 * (on Redis' clock), so this call appended the terminal lost entry; a producer's later append gets stopped.
 */
export const CHECK = `${APPENDED}
${NOW}
local m = redis.call('HMGET', KEYS[1], 'g', 'e', 'n', 't', 'tt', 'p')
if not m[1] then return 'gone' end
if m[2] then return 'ended' end
if not m[6] or tonumber(m[6]) > now then return 'live' end
local n = tonumber(m[3]) + 1
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'n', n, 'e', 'lost')
appended(KEYS[1], KEYS[2], KEYS[3], m[4], m[5], ARGV[2], n, m[1], ARGV[1])
return 'lost'
`;

/**
 * KEYS: readers. ARGV: instance id, lease ms. Sets or renews this instance's lease, and keeps the key alive until
 * the latest lease ends (it disappears on its own once every instance's has).
 */
export const PRESENT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
`;

/** KEYS: readers. ARGV: instance id. Withdraws this instance's lease. */
export const ABSENT = `redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/** KEYS: readers. Returns how many instances hold a lease that has not ended. */
export const HAS_READERS = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`;

const shas = new Map<string, string>();

function sha(script: string): string {
  let known = shas.get(script);
  if (known === undefined) {
    known = createHash('sha1').update(script).digest('hex');
    shas.set(script, known);
  }
  return known;
}

/**
 * Runs `script` by its SHA, and by its text when Redis does not know it (restarted, or its script cache flushed).
 * `what` names the operation in the error ("appending to stream abc").
 * @throws SseError `SSE_BROKER_UNAVAILABLE` when Redis is down, refuses, fails or does not answer in time.
 */
export async function runScript(
  connection: Connection,
  script: string,
  keys: readonly string[],
  args: readonly string[],
  what: string,
): Promise<unknown> {
  if (!connection.isReady) {
    // Only the very first connection attempt is waited for; after it, down means down.
    await connection.start().catch(noop);
    if (!connection.isReady) throw scriptError(undefined, 'offline', what);
  }
  const command = ['EVALSHA', sha(script), String(keys.length), ...keys, ...args];
  try {
    return await connection.command(command);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) {
      throw scriptError(error, connection.isReady ? 'sent' : 'offline', what);
    }
  }
  command[0] = 'EVAL';
  command[1] = script;
  try {
    return await connection.command(command);
  } catch (error) {
    throw scriptError(error, connection.isReady ? 'sent' : 'offline', what);
  }
}

/**
 * The error of a failed stream-log command. `offline`: nothing was sent, nothing changed. `sent`: the connection
 * failed or timed out while it was pending, so a write may or may not have been done.
 */
export function scriptError(cause: unknown, stage: 'offline' | 'sent', what: string): SseError {
  const detail = cause instanceof Error ? cause.message : cause === undefined ? 'not connected' : String(cause);
  let message: string;
  if (isReplyError(cause)) {
    message = `Redis refused ${what}: ${detail}`;
  } else if (stage === 'offline') {
    message = `Redis is not reachable (${detail}), so ${what} was not done. Retry once it is back.`;
  } else if (cause instanceof CommandTimeoutError) {
    message = `Redis did not answer ${what} within ${cause.ms} ms (commandTimeout), so it may or may not have been done.`;
  } else {
    message = `Redis did not confirm ${what} (the connection failed while it was pending: ${detail}), so it may or may not have been done.`;
  }
  return new SseError('SSE_BROKER_UNAVAILABLE', message, { cause, statusCode: 503 });
}

/** The error of a script that answered something it never answers: treated as a write that may have been done. */
export function unexpectedReply(what: string, reply: unknown): SseError {
  return scriptError(new Error(`the ${what} script answered ${describeReply(reply)}`), 'sent', `the ${what}`);
}

function noop(): void {}
