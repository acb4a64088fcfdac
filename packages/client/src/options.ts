import type { RetryOptions } from './backoff.js';
import type { SseClientError } from './errors.js';
import type { EventMap, SseEvent, UntypedEvents } from './events.js';

/** A `fetch` the client can call: the global one, undici's, or a wrapper that adds a dispatcher or logging. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * A request body the client can send. A `ReadableStream` is not accepted: it can be read once, and the client may
 * have to send the first request again (a refused connection, a 5xx) before any stream opened.
 */
export type RequestBody = string | Blob | ArrayBuffer | ArrayBufferView | FormData | URLSearchParams;

/** What the client passes to `onRetry` before it waits to reconnect. */
export interface RetryInfo {
  /** 1 for the first reconnect since the last successful connection, then 2, 3, … */
  readonly attempt: number;
  /** How long it waits before reconnecting, in ms (backoff and jitter included). */
  readonly delay: number;
  /** What ended the last attempt: a network error, an `SseClientError` for a 5xx, or the stream closing. */
  readonly cause: unknown;
}

/** The options of {@link connect}. Only the URL is required. */
export interface ConnectOptions<Events extends EventMap = UntypedEvents> {
  /** The HTTP method. Default `GET` (`POST` when a body is given). */
  method?: string;
  /** Request headers, sent on every request (first, reconnects and cancel). `Accept: text/event-stream` is added. */
  headers?: Headers | Record<string, string> | [string, string][];
  /**
   * The request body, sent with the first request only: reconnects to a resumable stream send none, and a stream
   * with a body that is not resumable is not reconnected once it has opened.
   */
  body?: RequestBody;
  /** The credentials mode of the requests, as in `fetch` (browsers). */
  credentials?: 'omit' | 'same-origin' | 'include';
  /** The `fetch` to call. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Stops the client for good when aborted, like {@link SseClient.close}. */
  signal?: AbortSignal;
  /**
   * Turns an event's data into the value the client delivers; a throw ends the stream with
   * `SSE_CLIENT_INVALID_DATA`. Default: `JSON.parse`, and the text itself when the data is not JSON (as ssekit sends
   * strings as they are and other values as JSON). Use `(data) => data` to always get the text.
   */
  parse?: (data: string, event: string) => unknown;
  /** Backoff between reconnects; `false` never reconnects. */
  retry?: RetryOptions | false;
  /**
   * Reconnects when nothing (not even a heartbeat comment) arrived for this many ms: set it above the server's
   * heartbeat interval to notice a connection that died silently. Default 0 (off).
   */
  idleTimeout?: number;
  /**
   * The key of a resumable stream to read instead of starting one (after a page reload, for instance): the first
   * request is already a resume, sent without the body.
   */
  streamKey?: string;
  /** The position to resume from, sent as `Last-Event-ID` on the first request. */
  lastEventId?: string;
  /** Called on each connection that opened (a 2xx `text/event-stream` response). */
  onOpen?: (response: Response) => void;
  /** Called with every event, before the `on()` listeners of its name. */
  onEvent?: (event: SseEvent<Events>) => void;
  /** Called before the client waits to reconnect. */
  onRetry?: (info: RetryInfo) => void;
  /** Called once when the client stops because of an error (never after `close()` or a normal end). */
  onError?: (error: SseClientError) => void;
}

/** A running client: iterate it, or listen to it; see {@link connect}. */
export interface SseClient<Events extends EventMap = UntypedEvents> extends AsyncIterable<SseEvent<Events>> {
  /** `connecting` (first request or a reconnect pending), `open` (reading a stream), or `closed` for good. */
  readonly state: 'connecting' | 'open' | 'closed';
  /** The last event id received; sent as `Last-Event-ID` on each reconnect. */
  readonly lastEventId: string;
  /** The resumable stream's key, once the response header or the `ssekit-stream` event gave it. */
  readonly streamKey: string | undefined;
  /**
   * Settles when the client stops: fulfilled after a normal end (`ssekit-done`, a 204, the end of a stream that
   * is not reconnected), `close()` or the signal; rejected with the {@link SseClientError} that stopped it.
   */
  readonly done: Promise<void>;
  /**
   * Calls `listener` with the data of each event named `event` (typed by the event map). Returns a function that
   * removes it.
   */
  on<Name extends keyof Events & string>(
    event: Name,
    listener: (data: Events[Name], event: SseEvent<Pick<Events, Name>>) => void,
  ): () => void;
  /** Stops for good: aborts the request, clears the reconnect timer, ends the iterator. Idempotent. */
  close(): void;
  /**
   * Stops a resumable stream on the server (its producer is aborted) and closes this client. Rejects with
   * `SSE_CLIENT_NOT_RESUMABLE` before the key is known, and with `SSE_CLIENT_HTTP_STATUS` when the server refuses.
   */
  cancel(): Promise<void>;
  /** Iterates the events; leaving the loop (`break`, `return`, a throw) closes the client. Once per client. */
  [Symbol.asyncIterator](): AsyncIterator<SseEvent<Events>>;
}
