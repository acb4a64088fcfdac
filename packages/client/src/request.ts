import { SseClientError } from './errors.js';
import type { ConnectOptions } from './options.js';
import { STREAM_ACTION_HEADER, STREAM_KEY_HEADER } from './protocol.js';
import { readErrorMessage } from './read-error.js';
import type { Resolved } from './validate.js';

// What the client sends and how it judges the answer, apart from reading the stream itself.

/** Ends `text` with a full stop unless it ends a sentence already (a server's message often does). */
export const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** The caller's headers, `accept: text/event-stream` unless they set one, and `extra`. */
export function requestHeaders(headers: ConnectOptions['headers'], extra: Record<string, string>): Headers {
  const all = new Headers(headers);
  if (!all.has('accept')) all.set('accept', 'text/event-stream');
  for (const [name, value] of Object.entries(extra)) all.set(name, value);
  return all;
}

/**
 * Judges a response before its body is read: `undefined` for an event stream to read, `{ end }` to stop the client
 * (a 204 with no error; a 4xx or another content type with one).
 * @throws SseClientError `SSE_CLIENT_HTTP_STATUS` for a 5xx, which is worth a reconnect.
 */
export async function checkResponse(
  response: Response,
  config: Resolved,
): Promise<{ end: SseClientError | undefined } | undefined> {
  const { status } = response;
  if (status === 204) return { end: undefined };
  if (status < 200 || status > 299) {
    const text = await readErrorMessage(response);
    const error = new SseClientError(
      'SSE_CLIENT_HTTP_STATUS',
      sentence(`${config.method} ${config.url} answered ${status}${text ? `: ${text}` : ''}`),
      { status },
    );
    if (status < 500) return { end: error };
    throw error;
  }
  const type = response.headers.get('content-type') ?? '';
  if (!/^text\/event-stream\s*(;|$)/i.test(type) || response.body === null) {
    response.body?.cancel().catch(() => undefined);
    return {
      end: new SseClientError(
        'SSE_CLIENT_CONTENT_TYPE',
        `${config.method} ${config.url} answered ${status} with "${type}", not text/event-stream: is it an SSE route?`,
        { status },
      ),
    };
  }
  return undefined;
}

/**
 * Asks the route to cancel the resumable stream `key` (the stream action header).
 * @throws SseClientError `SSE_CLIENT_HTTP_STATUS` when the server refuses; rejects as `fetch` does.
 */
export async function requestCancel(
  config: Resolved,
  options: Pick<ConnectOptions, 'headers' | 'credentials'>,
  key: string,
): Promise<void> {
  // Called unbound: a browser's fetch throws when called on another object.
  const { fetch } = config;
  const response = await fetch(config.url, {
    method: config.method,
    headers: requestHeaders(options.headers, { [STREAM_KEY_HEADER]: key, [STREAM_ACTION_HEADER]: 'cancel' }),
    credentials: options.credentials,
    cache: 'no-store',
  } as RequestInit);
  const text = await readErrorMessage(response);
  if (!response.ok) {
    throw new SseClientError(
      'SSE_CLIENT_HTTP_STATUS',
      sentence(`Cancelling: ${config.method} ${config.url} answered ${response.status}${text ? `: ${text}` : ''}`),
      { status: response.status },
    );
  }
}
