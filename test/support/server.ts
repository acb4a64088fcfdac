import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on 127.0.0.1 with a random port, that can be closed even with SSE streams open. */
export interface Running {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts `server` on 127.0.0.1:0 and tracks its sockets so `close()` never waits on a long-lived stream. */
export async function listen(server: http.Server): Promise<Running> {
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Starts a plain `node:http` server with `handler`. */
export function serve(handler: http.RequestListener): Promise<Running> {
  return listen(http.createServer(handler));
}

/** The sockets a server has open, so a test can cut them like a network drop would. */
export interface SocketTracker {
  /** Open sockets right now. */
  readonly size: number;
  /** Destroys every open socket (the server keeps listening): clients see a connection reset. */
  destroyAll(): void;
}

/** Starts tracking the sockets of `server` (HTTP/1 or HTTP/2, any framework's); call before it accepts connections. */
export function trackSockets(server: import('node:net').Server): SocketTracker {
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    get size() {
      return sockets.size;
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
