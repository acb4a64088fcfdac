/**
 * A complete `text/event-stream` parser for body bytes: event types, data, ids as `EventSource` keeps them, `retry`,
 * and every line ending the spec allows (LF, CRLF, lone CR, split anywhere). The reliability tests count loss and
 * check fields with it; the bench uses the leaner sse-prefix-parser.ts.
 */
import type { BodyParser } from './http-response.js';

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, `'message'` when absent. */
  type: string;
  data: string;
  /** The last event id after this event (as `EventSource.lastEventId`). */
  lastEventId: string;
}

/** What the event parser reports. */
export interface SseEventSink {
  event(event: SseEvent): void;
  retry(ms: number): void;
}

export class SseEventParser implements BodyParser {
  /** Events dispatched so far. */
  events = 0;
  /** Body bytes parsed. */
  bytes = 0;
  /** The id of the last complete event, as `EventSource` keeps it (an event cut off mid-way does not count). */
  lastEventId = '';
  /** The last `retry:` value seen. */
  retry: number | undefined;
  private readonly decoder = new TextDecoder();
  private line = '';
  private data = '';
  private hasData = false;
  private type = '';
  // The id of the event being parsed; it becomes `lastEventId` only when the event is complete (as in the spec).
  private idBuffer = '';
  private lastCr = false;

  constructor(private readonly sink: SseEventSink) {}

  push(buffer: Buffer, start: number, end: number): void {
    this.bytes += end - start;
    const text = this.decoder.decode(buffer.subarray(start, end), { stream: true });
    if (text === '') return;
    let from = 0;
    // A CRLF pair is one line ending: skip the LF that follows a CR (possibly in the previous read).
    if (this.lastCr && text.charCodeAt(0) === 10) from = 1;
    this.lastCr = false;
    let lf = text.indexOf('\n', from);
    let cr = text.indexOf('\r', from);
    while (lf !== -1 || cr !== -1) {
      const lineEnd = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.processLine(this.line === '' ? text.slice(from, lineEnd) : this.line + text.slice(from, lineEnd));
      this.line = '';
      from = lineEnd + 1;
      if (lineEnd === cr) {
        if (from === text.length) {
          this.lastCr = true;
          return;
        }
        if (text.charCodeAt(from) === 10) from++;
        cr = text.indexOf('\r', from);
      }
      if (lf !== -1 && lf < from) lf = text.indexOf('\n', from);
    }
    if (from < text.length) this.line += text.slice(from);
  }

  private processLine(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer;
      if (this.hasData) {
        this.events++;
        this.sink.event({ type: this.type || 'message', data: this.data, lastEventId: this.lastEventId });
      }
      this.data = '';
      this.hasData = false;
      this.type = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (field === 'id') {
      if (!value.includes('\0')) this.idBuffer = value;
    } else if (field === 'event') {
      this.type = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) {
      this.retry = Number(value);
      this.sink.retry(this.retry);
    }
  }
}
