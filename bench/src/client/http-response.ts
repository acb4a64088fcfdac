/**
 * The HTTP/1.1 side of a raw-socket SSE client: reads the response head (status line and headers), then takes the
 * body apart from its chunked transfer coding (or reads it plainly until close) and hands each run of body bytes,
 * without copying, to a {@link BodyParser}. Shared by the bench's load client and the reliability tests' load client.
 */

/** Receives the body bytes `[start, end)` of `buffer`; it must not keep `buffer`, which the caller reuses. */
export interface BodyParser {
  push(buffer: Buffer, start: number, end: number): void;
}

/** What {@link HttpResponseReader.push} throws for bytes that are not an HTTP/1.1 response. */
export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

const LF = 10;
const HEAD_END = '\r\n\r\n';
const MAX_HEAD = 16 * 1024;
const MAX_SIZE_LINE = 64;

enum State {
  Head,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Body,
  Done,
}

/** Reads one HTTP/1.1 response from the bytes of a socket. */
export class HttpResponseReader {
  /** HTTP status, once the head has arrived. */
  status = 0;
  /** Response headers by lower-case name (a repeated header keeps its last value), once the head has arrived. */
  readonly headers: Record<string, string> = {};
  private state = State.Head;
  private head = '';
  private sizeLine = '';
  private chunkLeft = 0;
  private crlfLeft = 0;

  /**
   * @param body receives the body bytes.
   * @param onHead runs once the head is read, before any body byte reaches `body`; what it throws, `push` throws.
   */
  constructor(
    private readonly body: BodyParser,
    private readonly onHead?: (response: HttpResponseReader) => void,
  ) {}

  /** True once the head has been read. */
  get open(): boolean {
    return this.state !== State.Head;
  }

  /** True when the chunked body ended: the server finished the response cleanly. */
  get complete(): boolean {
    return this.state === State.Done;
  }

  /** Feeds bytes `[start, end)` of `buffer`. Throws a {@link MalformedResponseError} on a malformed response; bytes after the last chunk are ignored. */
  push(buffer: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case State.Head: {
          const before = this.head.length;
          this.head += buffer.toString('latin1', i, end);
          const at = this.head.indexOf(HEAD_END);
          if (at === -1) {
            if (this.head.length > MAX_HEAD) throw new MalformedResponseError('response head larger than 16 KiB');
            return;
          }
          i += at + HEAD_END.length - before;
          this.readHead(this.head.slice(0, at));
          this.head = '';
          break;
        }
        case State.ChunkSize: {
          // Byte by byte: a size line is a few bytes once per chunk, and it may be split across reads.
          const c = buffer[i++] as number;
          if (c !== LF) {
            this.sizeLine += String.fromCharCode(c);
            if (this.sizeLine.length > MAX_SIZE_LINE) throw new MalformedResponseError('chunk size line too long');
            break;
          }
          // parseInt stops at the CR or at a chunk extension (`;name=value`).
          const size = Number.parseInt(this.sizeLine, 16);
          this.sizeLine = '';
          if (!Number.isSafeInteger(size) || size < 0) throw new MalformedResponseError('malformed chunk size');
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
          this.body.push(buffer, i, i + take);
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
          this.body.push(buffer, i, end);
          return;
        case State.Done:
          return;
      }
    }
  }

  private readHead(head: string): void {
    const lines = head.split('\r\n');
    const statusLine = lines[0] as string;
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith('HTTP/1.') || statusLine[8] !== ' ' || !Number.isInteger(status)) {
      throw new MalformedResponseError(`malformed status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
    }
    this.status = status;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon > 0) this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.state = /chunked/i.test(this.headers['transfer-encoding'] ?? '') ? State.ChunkSize : State.Body;
    this.onHead?.(this);
  }
}
