import { isStreamId } from './stream-id.js';

/**
 * The `Last-Event-ID` of the partitioned log: this instance's position in every partition it reads when it
 * delivered the event, so that a connection resumes from it on any instance with no gap and no duplicate, whatever
 * the partitions its client id and topics map to.
 *
 * Format: `p` + base64url of unsigned LEB128 varints:
 * `count` (the number of partitions, so a cursor of a log partitioned otherwise is refused), `n` (positions),
 * `base` (the smallest millisecond part of the positions), then per position, by increasing partition:
 * the partition minus the previous one (the first: the partition itself), then `0` for "the partition was empty",
 * else `ms - base + 1` and `seq`. A few bytes per partition: see docs/scaling.md for measured lengths.
 */
export type Positions = ReadonlyMap<number, string>;

const PREFIX = 'p';

/** Encodes positions (`''` for an empty partition, else a stream id) as a cursor. */
export function encodeCursor(count: number, positions: Positions): string {
  const parts = [...positions.keys()].sort((a, b) => a - b);
  let base: bigint | undefined;
  const split = new Map<number, [bigint, bigint]>();
  for (const p of parts) {
    const id = positions.get(p) as string;
    if (id === '') continue;
    const dash = id.indexOf('-');
    const ms = BigInt(id.slice(0, dash));
    split.set(p, [ms, BigInt(id.slice(dash + 1))]);
    if (base === undefined || ms < base) base = ms;
  }
  const out: number[] = [];
  writeVarint(out, BigInt(count));
  writeVarint(out, BigInt(parts.length));
  writeVarint(out, base ?? 0n);
  let previous = 0;
  for (const p of parts) {
    writeVarint(out, BigInt(p - previous));
    previous = p;
    const id = split.get(p);
    if (id === undefined) {
      writeVarint(out, 0n);
    } else {
      writeVarint(out, id[0] - (base as bigint) + 1n);
      writeVarint(out, id[1]);
    }
  }
  return PREFIX + Buffer.from(out).toString('base64url');
}

/** Decodes a cursor of a log of `count` partitions; undefined for anything else (a single-stream id, garbage). */
export function decodeCursor(cursor: string, count: number): Map<number, string> | undefined {
  if (!cursor.startsWith(PREFIX) || !/^[A-Za-z0-9_-]*$/.test(cursor.slice(1))) return undefined;
  const bytes = Buffer.from(cursor.slice(1), 'base64url');
  const reader = { bytes, at: 0 };
  try {
    if (readVarint(reader) !== BigInt(count)) return undefined;
    const n = readVarint(reader);
    if (n > BigInt(count + 1)) return undefined;
    const base = readVarint(reader);
    const positions = new Map<number, string>();
    let p = 0;
    for (let i = 0n; i < n; i++) {
      const step = readVarint(reader);
      if (i > 0n && step === 0n) return undefined;
      p += Number(step);
      if (p > count) return undefined;
      const ms = readVarint(reader);
      if (ms === 0n) {
        positions.set(p, '');
        continue;
      }
      const id = `${base + ms - 1n}-${readVarint(reader)}`;
      if (!isStreamId(id)) return undefined;
      positions.set(p, id);
    }
    return reader.at === bytes.length ? positions : undefined;
  } catch {
    return undefined;
  }
}

function writeVarint(out: number[], value: bigint): void {
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function readVarint(reader: { bytes: Buffer; at: number }): bigint {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (reader.at >= reader.bytes.length || shift > 70n) throw new RangeError('truncated cursor');
    const byte = reader.bytes[reader.at++] as number;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return value;
    shift += 7n;
  }
}
