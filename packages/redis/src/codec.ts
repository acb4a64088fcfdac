import { SseTypeError } from '@ssekit/core';
import type { ControlMessage, Envelope, OutgoingEnvelope, Target } from '@ssekit/core/broker';
import { isStreamId } from './stream-id.js';

/**
 * How an event is stored in a stream entry. Short field names, always in the same order, so that Redis can share
 * the field names of an entry with the first entry of its listpack node and store only the values.
 * - `p`: the id of the entry that was last in the stream when this one was added ('' for the first entry of a
 *   stream). Written by the publish script, never by this codec: the chain lets a reader prove it missed nothing.
 * - `g`: the epoch of the log, also written by the publish script: it changes whenever the stream was emptied or
 *   recreated, so a reader can tell a new log whose ids repeat old ones from the log it was reading.
 * - `to`: the target: `*` (everyone), `c:<client id>` or `t:<topic>`.
 * - `d`: the data, as the publishing hub serialized it.
 * - `e`, `r`: the event name and the retry hint, only when given.
 *
 * A control entry (a disconnect) is an entry of the same stream, so it takes its place in the chain and in the
 * order of events, but it is not an event:
 * - `x`: the action (`disconnect`); `to`: `c:<client id>`; `o`: the sending hub; `r`: the retry hint, when given.
 * - It has no `d`: a reader of an earlier version, which knows no `x`, finds no data and skips the entry as one it
 *   cannot read, rather than delivering it as an event. Replays skip it for the same reason.
 */
export const FIELD_PREV = 'p';
const FIELD_EPOCH = 'g';
const FIELD_TARGET = 'to';
const FIELD_DATA = 'd';
const FIELD_EVENT = 'e';
const FIELD_RETRY = 'r';
const FIELD_ACTION = 'x';
const FIELD_ORIGIN = 'o';

/**
 * One stream entry, decoded: an event (`envelope`), a control message (`control`), or neither, for an entry this
 * codec cannot read (written by something else, or by a newer version with an action this one does not know).
 */
export interface StreamEntry {
  readonly id: string;
  /** The `p` field; undefined when absent. */
  readonly prev: string | undefined;
  /** The `g` field (the log's epoch); undefined when absent. */
  readonly epoch?: string | undefined;
  readonly envelope: Envelope | undefined;
  readonly control?: ControlMessage | undefined;
}

/** The target as stored in the `to` field. */
export function encodeTarget(target: Target): string {
  switch (target.type) {
    case 'all':
      return '*';
    case 'client':
      return `c:${target.clientId}`;
    case 'topic':
      return `t:${target.topic}`;
    case 'any':
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        'A target of type "any" names local connections only and cannot be published; publish to a client id, a topic or everyone.',
      );
  }
}

/** Reads a `to` field back; undefined for anything this version did not write. */
export function decodeTarget(value: string): Target | undefined {
  if (value === '*') return ALL;
  if (value.length < 3 || value.charCodeAt(1) !== COLON) return undefined;
  const name = value.slice(2);
  if (value.charCodeAt(0) === LOWER_C) return { type: 'client', clientId: name };
  if (value.charCodeAt(0) === LOWER_T) return { type: 'topic', topic: name };
  return undefined;
}

/** The field/value pairs of an event, without `p` and `g` (the publish script adds them). */
export function encodeEnvelope(envelope: OutgoingEnvelope): string[] {
  // The idempotency key is not stored in the entry: the publish script keeps it under a key of its own.
  const fields = [FIELD_TARGET, encodeTarget(envelope.target), FIELD_DATA, envelope.data];
  if (envelope.event !== undefined) fields.push(FIELD_EVENT, envelope.event);
  if (envelope.retry !== undefined) fields.push(FIELD_RETRY, String(envelope.retry));
  return fields;
}

/** The field/value pairs of a control message, without `p` and `g` (the publish script adds them). */
export function encodeControl(message: ControlMessage): string[] {
  const fields = [
    FIELD_TARGET,
    encodeTarget({ type: 'client', clientId: message.clientId }),
    FIELD_ACTION,
    message.action,
    FIELD_ORIGIN,
    message.origin,
  ];
  if (message.retry !== undefined) fields.push(FIELD_RETRY, String(message.retry));
  return fields;
}

/**
 * Decodes the field/value list of entry `id`. Fields this version does not know are ignored (a newer writer may add
 * some); an entry without a readable target or data, or with an event name or retry that could not have passed the
 * hub's checks, yields no envelope: its bytes must never reach a client unchecked.
 */
export function decodeEntry(id: string, fields: readonly unknown[]): StreamEntry {
  let prev: string | undefined;
  let epoch: string | undefined;
  let to: string | undefined;
  let data: string | undefined;
  let event: string | undefined;
  let retry: string | undefined;
  let action: string | undefined;
  let origin: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    if (typeof value !== 'string') continue;
    switch (fields[i]) {
      case FIELD_PREV:
        prev = value;
        break;
      case FIELD_EPOCH:
        epoch = value;
        break;
      case FIELD_TARGET:
        to = value;
        break;
      case FIELD_DATA:
        data = value;
        break;
      case FIELD_EVENT:
        event = value;
        break;
      case FIELD_RETRY:
        retry = value;
        break;
      case FIELD_ACTION:
        action = value;
        break;
      case FIELD_ORIGIN:
        origin = value;
        break;
    }
  }
  const target = to === undefined ? undefined : decodeTarget(to);
  const retryMs = retry === undefined ? undefined : decodeRetry(retry);
  // An entry with an action is never an event, whatever other fields it has.
  if (action !== undefined) {
    if (action !== 'disconnect' || target?.type !== 'client' || Number.isNaN(retryMs)) {
      return { id, prev, epoch, envelope: undefined };
    }
    const control: ControlMessage = { action, clientId: target.clientId, retry: retryMs, origin: origin ?? '' };
    return { id, prev, epoch, envelope: undefined, control };
  }
  if (target === undefined || data === undefined) return { id, prev, epoch, envelope: undefined };
  if (event !== undefined && /[\r\n]/.test(event)) return { id, prev, epoch, envelope: undefined };
  if (Number.isNaN(retryMs)) return { id, prev, epoch, envelope: undefined };
  return { id, prev, epoch, envelope: { id, target, data, event, retry: retryMs } };
}

/** A stored retry hint in ms, or NaN for one the hub could not have written (it would inject bytes). */
function decodeRetry(value: string): number {
  const ms = /^(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(ms) ? ms : Number.NaN;
}

/**
 * Decodes the entries of an `XRANGE`/`XREVRANGE` reply (RESP2: `[[id, [field, value, …]], …]`).
 * @throws TypeError when the reply does not have that shape (the key holds something else, or a proxy mangled it).
 */
export function decodeEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) throw new TypeError(`Expected a list of stream entries from Redis, got ${typeof reply}.`);
  const entries: StreamEntry[] = new Array(reply.length);
  for (let i = 0; i < reply.length; i++) {
    const entry = reply[i] as unknown;
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !isStreamId(entry[0]) || !Array.isArray(entry[1])) {
      throw new TypeError('Redis answered with a stream entry that is not `[id, [field, value, …]]`.');
    }
    entries[i] = decodeEntry(entry[0], entry[1] as unknown[]);
  }
  return entries;
}

/**
 * Decodes an `XREAD` reply (RESP2: `null` on timeout, else `[[key, entries], …]` for each key with new entries).
 * @returns the entries of each key that has some.
 * @throws TypeError for any other shape.
 */
export function decodeRead(reply: unknown): Map<string, StreamEntry[]> {
  const streams = new Map<string, StreamEntry[]>();
  if (reply === null) return streams;
  if (!Array.isArray(reply) || reply.length === 0) {
    throw new TypeError('Redis answered XREAD with something that is not a list of streams.');
  }
  for (const stream of reply as unknown[]) {
    if (!Array.isArray(stream) || stream.length < 2 || typeof stream[0] !== 'string') {
      throw new TypeError('Redis answered XREAD with a stream that is not `[key, entries]`.');
    }
    streams.set(stream[0], decodeEntries(stream[1]));
  }
  return streams;
}

const ALL: Target = Object.freeze({ type: 'all' });
const COLON = 58;
const LOWER_C = 99;
const LOWER_T = 116;
