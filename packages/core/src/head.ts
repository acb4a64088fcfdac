import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { SseRequest, SseResponse } from './stream.js';

type HeaderMap = Record<string, string | number | readonly string[]>;

/**
 * Writes status 200 and the SSE headers (the app's `headers` over ssekit's defaults) and flushes them, with Nagle
 * and the socket idle timeout turned off.
 * @returns the HTTP/1 socket, on which the stream sends each flush at once; `undefined` on HTTP/2.
 */
export function writeHead(req: SseRequest, res: SseResponse, extraHeaders: HeaderMap | undefined): Socket | undefined {
  const http2 = isHttp2(req);
  const headers = headersFor(http2, isHttp10(req), extraHeaders);
  let socket: Socket | undefined;
  if (http2) (res as Http2ServerResponse).setTimeout(0);
  else {
    socket = (req as IncomingMessage).socket ?? undefined;
    socket?.setNoDelay(true);
    socket?.setTimeout(0);
  }
  res.writeHead(200, headers as Record<string, string>);
  (res as ServerResponse).flushHeaders();
  return socket;
}

function headersFor(http2: boolean, http10: boolean, extraHeaders: HeaderMap | undefined): HeaderMap {
  const headers: HeaderMap = {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    'X-Accel-Buffering': 'no',
  };
  // Connection is a hop-by-hop header that HTTP/2 forbids: Node drops it there, with an UnsupportedWarning. An
  // HTTP/1.0 response has no chunked encoding, so the stream ends by closing the connection (nginx asks upstreams
  // in HTTP/1.0 unless told `proxy_http_version 1.1`).
  if (!http2) headers.Connection = http10 ? 'close' : 'keep-alive';
  if (extraHeaders) {
    for (const [name, value] of Object.entries(extraHeaders)) {
      if (http2 && name.toLowerCase() === 'connection') continue;
      headers[name] = value;
    }
  }
  return headers;
}

function isHttp2(req: SseRequest): boolean {
  return req.httpVersionMajor >= 2;
}

function isHttp10(req: SseRequest): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 0;
}
