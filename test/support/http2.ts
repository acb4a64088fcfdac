import http2 from 'node:http2';
import { listen, type Running } from './server.js';
import { waitFor } from './wait.js';

/** A cleartext HTTP/2 (h2c) server on 127.0.0.1 with a random port; `close()` cuts open connections first. */
export type RunningHttp2 = Running<http2.Http2Server>;

/** Starts an h2c server with the compatibility API (`req`/`res`), as Express and Fastify use on HTTP/2. */
export function serveHttp2(
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): Promise<RunningHttp2> {
  return listen(http2.createServer(handler));
}

/** An HTTP/2 GET that records the response head and body text as they arrive. */
export interface Http2Response {
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  text: string;
  ended: boolean;
  waitForText(fragment: string, timeout?: number): Promise<void>;
  waitForEnd(timeout?: number): Promise<void>;
  close(): void;
}

/** Opens `path` on an h2c server and resolves once the response head arrived. */
export function http2Get(url: string, path = '/', headers: http2.OutgoingHttpHeaders = {}): Promise<Http2Response> {
  const session = http2.connect(url);
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const req = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    req.setEncoding('utf8');
    req.on('error', () => undefined);
    req.on('response', (head) => {
      const response: Http2Response = {
        headers: head,
        text: '',
        ended: false,
        async waitForText(fragment, timeout = 5000) {
          await waitFor(() => response.text.includes(fragment), JSON.stringify(fragment), timeout);
        },
        async waitForEnd(timeout = 5000) {
          await waitFor(() => response.ended, 'the HTTP/2 response to end', timeout);
        },
        close: () => {
          req.close();
          session.close();
        },
      };
      req.on('data', (chunk: string) => {
        response.text += chunk;
      });
      req.on('end', () => {
        response.ended = true;
        session.close();
      });
      req.on('close', () => {
        response.ended = true;
      });
      resolve(response);
    });
  });
}
