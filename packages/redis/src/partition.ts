import { SseTypeError } from '@ssekit/core';
import type { Target } from '@ssekit/core/broker';

/**
 * Where the events of one target live in the partitioned log: partition `0 … count-1` for a client id or a topic
 * (a stable hash of the target), partition `count` for broadcasts, which every instance reads.
 */
export interface PartitionKeys {
  /** The stream of partition `p`. */
  readonly stream: string;
  /** The epoch stream of partition `p` (same hash slot as `stream`). */
  readonly epoch: string;
  /** The prefix of the idempotency keys of partition `p` (same hash slot as `stream`). */
  readonly idempotency: string;
}

/**
 * The keys of partition `p` of the log `key`. The braces are a Redis Cluster hash tag: the stream, its epoch
 * stream and its idempotency keys share one slot (the publish script touches all three), and the partitions spread
 * over the slots, so over the masters, of a cluster.
 */
export function partitionKeys(key: string, p: number, count: number): PartitionKeys {
  const tag = `{${key}:${p === count ? 'b' : p}}`;
  return { stream: tag, epoch: `${tag}:epoch`, idempotency: `${tag}:idem:` };
}

/** The partition of a target: `count` (the broadcast partition) for everyone, else the hash of `c:<id>`/`t:<topic>`. */
export function partitionOf(target: Target, count: number): number {
  switch (target.type) {
    case 'all':
      return count;
    case 'client':
      return fnv1a(`c:${target.clientId}`) % count;
    case 'topic':
      return fnv1a(`t:${target.topic}`) % count;
    case 'any':
      throw new SseTypeError(
        'SSE_INVALID_FIELD',
        'A target of type "any" names local connections and has no partition.',
      );
  }
}

/**
 * FNV-1a (32 bits) over the UTF-16 code units of `text`: stable across processes, versions and platforms, which is
 * what matters (every instance must put a target in the same partition); spread is good enough for short names.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The Redis Cluster hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, mod 16384). */
export function hashSlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  const bytes = Buffer.from(hashed, 'utf8');
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
