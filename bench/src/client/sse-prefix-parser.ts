/**
 * The bench's `text/event-stream` line parser: just enough to see events and comments, and the `<seq> <sentAtUs>`
 * that the benchmark's event data starts with.
 *
 * Why not a full parser: the load client must spend less CPU per event than the server does to send it, or it
 * measures itself. Here a line costs one native `indexOf` and at most {@link PREFIX} copied bytes: only the start of a
 * `data:` line is read, the rest is skipped. Lines end with LF (an optional CR before it is dropped); a lone CR is not
 * treated as a line end, which no server under test emits. The reliability tests, which need every field, use
 * sse-event-parser.ts instead.
 */
import type { BodyParser } from './http-response.js';

/** Bytes kept from the start of each line: enough for `data: "<seq> <sentAtUs>`. */
const PREFIX = 40;
const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const QUOTE = 34;
const ZERO = 48;
const NINE = 57;
const D = 100;
const A = 97;
const T = 116;

/** What the prefix parser reports. */
export interface SsePrefixSink {
  /** One dispatched event whose data started with `<seq> <sentAtUs>` (`seq` is -1 when it did not). */
  event(seq: number, sentAtUs: number): void;
  /** One comment line (heartbeats). */
  comment(): void;
}

export class SsePrefixParser implements BodyParser {
  private readonly prefix = Buffer.alloc(PREFIX);
  private prefixLength = 0;
  private lineLength = 0;
  private hasData = false;
  private seq = -1;
  private sentAtUs = 0;

  constructor(private readonly sink: SsePrefixSink) {}

  /** Splits body bytes into lines; keeps only the start of each. */
  push(buffer: Buffer, start: number, end: number): void {
    // Plain loops over a few bytes: a native call (subarray, copy, compare) costs more than it saves here.
    const prefix = this.prefix;
    let i = start;
    while (i < end) {
      // Scans the whole buffer: a newline past `end` is the next chunk's (or the next read's), and one is never far.
      let nl = buffer.indexOf(LF, i);
      if (nl === -1 || nl >= end) nl = -1;
      const lineEnd = nl === -1 ? end : nl;
      let n = this.prefixLength;
      for (let j = i; n < PREFIX && j < lineEnd; j++) prefix[n++] = buffer[j] as number;
      this.prefixLength = n;
      this.lineLength += lineEnd - i;
      if (nl === -1) return;
      this.line();
      this.prefixLength = 0;
      this.lineLength = 0;
      i = nl + 1;
    }
  }

  private line(): void {
    const p = this.prefix;
    let length = this.lineLength;
    if (length > 0 && this.prefixLength === length && p[length - 1] === CR) length--;
    if (length === 0) {
      if (this.hasData) {
        this.hasData = false;
        this.sink.event(this.seq, this.sentAtUs);
      }
      return;
    }
    if (p[0] === COLON) {
      this.sink.comment();
      return;
    }
    if (length < 5 || p[0] !== D || p[1] !== A || p[2] !== T || p[3] !== A || p[4] !== COLON) return;
    // Only the first data line of an event carries the numbers; the benchmark never sends more than one.
    if (this.hasData) return;
    this.hasData = true;
    const max = Math.min(this.prefixLength, length);
    let i = 5;
    if (p[i] === SPACE) i++;
    // Libraries that JSON-encode string data send it quoted.
    if (p[i] === QUOTE) i++;
    let seq = 0;
    let digits = 0;
    for (; i < max && (p[i] as number) >= ZERO && (p[i] as number) <= NINE; i++, digits++) {
      seq = seq * 10 + (p[i] as number) - ZERO;
    }
    if (digits === 0 || p[i] !== SPACE) {
      this.seq = -1;
      this.sentAtUs = 0;
      return;
    }
    i++;
    let sent = 0;
    for (; i < max && (p[i] as number) >= ZERO && (p[i] as number) <= NINE; i++) {
      sent = sent * 10 + (p[i] as number) - ZERO;
    }
    this.seq = seq;
    this.sentAtUs = sent;
  }
}
