/**
 * A minimal reader for one SSE response on a raw socket: the HTTP/1.1 head, chunked transfer coding (or a plain body
 * until close), and just enough of `text/event-stream` to see events and comments.
 *
 * Why not `http.request` + a full parser: the load client must spend less CPU per event than the server does to send
 * it, or it measures itself. Here a line costs one native `indexOf` and at most {@link PREFIX} copied bytes: the
 * benchmark's event data starts with `<seq> <sentAtUs>`, so only the start of a `data:` line is read, the rest is
 * skipped. Lines end with LF (an optional CR before it is dropped); a lone CR is not treated as a line end, which no
 * server under test emits.
 */

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
const HEAD_END = '\r\n\r\n';
const MAX_HEAD = 16 * 1024;

export interface SseSink {
  /** One dispatched event whose data started with `<seq> <sentAtUs>` (`seq` is -1 when it did not). */
  event(seq: number, sentAtUs: number): void;
  /** One comment line (heartbeats). */
  comment(): void;
}

enum State {
  Head,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Body,
  Done,
}

export class SseReader {
  /** HTTP status of the response, once the head has arrived. */
  status = 0;
  private state = State.Head;
  private head = '';
  private sizeLine = '';
  private chunkLeft = 0;
  private crlfLeft = 0;
  private readonly prefix = Buffer.alloc(PREFIX);
  private prefixLength = 0;
  private lineLength = 0;
  private hasData = false;
  private seq = -1;
  private sentAtUs = 0;

  constructor(private readonly sink: SseSink) {}

  /** True once the head has been read. */
  get open(): boolean {
    return this.state !== State.Head;
  }

  /** True when the chunked body ended (the server finished the response). */
  get ended(): boolean {
    return this.state === State.Done;
  }

  /** Feeds bytes `[start, end)` of `buffer`. Throws on a malformed response. */
  push(buffer: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case State.Head: {
          const text = buffer.toString('latin1', i, end);
          const before = this.head.length;
          this.head += text;
          const at = this.head.indexOf(HEAD_END);
          if (at === -1) {
            if (this.head.length > MAX_HEAD) throw new Error('response head larger than 16 KiB');
            return;
          }
          i += at + HEAD_END.length - before;
          this.readHead(this.head.slice(0, at));
          this.head = '';
          break;
        }
        case State.ChunkSize: {
          const c = buffer[i++] as number;
          if (c !== LF) {
            this.sizeLine += String.fromCharCode(c);
            if (this.sizeLine.length > 64) throw new Error('chunk size line too long');
            break;
          }
          const size = Number.parseInt(this.sizeLine, 16);
          this.sizeLine = '';
          if (!Number.isSafeInteger(size) || size < 0) throw new Error('malformed chunk size');
          if (size === 0) {
            this.state = State.Done;
            return;
          }
          this.chunkLeft = size;
          this.state = State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.chunkLeft, end - i);
          this.lines(buffer, i, i + take);
          i += take;
          this.chunkLeft -= take;
          if (this.chunkLeft === 0) {
            this.crlfLeft = 2;
            this.state = State.ChunkEnd;
          }
          break;
        }
        case State.ChunkEnd: {
          i++;
          if (--this.crlfLeft === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Body:
          this.lines(buffer, i, end);
          return;
        case State.Done:
          return;
      }
    }
  }

  private readHead(head: string): void {
    const status = Number(head.slice(9, 12));
    if (!head.startsWith('HTTP/1.') || !Number.isInteger(status)) throw new Error('malformed status line');
    this.status = status;
    if (status !== 200) throw new Error(`status ${status} instead of 200`);
    const lower = head.toLowerCase();
    if (!lower.includes('content-type: text/event-stream')) throw new Error('Content-Type is not text/event-stream');
    this.state = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower) ? State.ChunkSize : State.Body;
  }

  /** Splits body bytes into lines; keeps only the start of each. */
  private lines(buffer: Buffer, start: number, end: number): void {
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
