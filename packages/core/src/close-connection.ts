import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { SseRequest, SseResponse } from './stream.js';

/**
 * A stream ended by `shutdown` (`hub.close()`, the framework closing) closes its HTTP/1 connection once the response
 * has finished (the writer does it, see `Writer.close`). Otherwise the connection would stay open as an idle
 * keep-alive socket, and `server.close()` would wait for it until the server's `keepAliveTimeout` (5 s by default): a
 * process that closes the server first, then the hub, would take that long to exit. Other ends keep the connection:
 * the head promised keep-alive, and a client such as Node's http agent reuses the socket at once, so closing it
 * would fail that client's next request; at shutdown the server is going away, and its idle connections are closed
 * the same way by Node itself.
 *
 * A refused connection (a closing hub's 503) is closed the same way, by {@link closeConnectionWhenFinished}.
 */

/** Ends and then destroys the HTTP/1 socket of `res` once the response has been handed to it completely. */
export function closeConnectionWhenFinished(req: SseRequest, res: SseResponse): void {
  const socket = (req as IncomingMessage).socket as Socket | null | undefined;
  if (req.httpVersionMajor >= 2 || socket === null || socket === undefined) return;
  closeSocketWhenFinished(socket, res);
}

/** Ends and then destroys `socket` (the HTTP/1 socket of `res`) once the response has been handed to it completely. */
export function closeSocketWhenFinished(socket: Socket, res: SseResponse): void {
  const close = (): void => {
    if (socket.destroyed) return;
    // end() first, so the response's last chunk and the FIN go out; then destroy, as Node does for `Connection: close`.
    socket.end();
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  if (res.writableFinished) close();
  else res.once('finish', close);
}
