import http from 'node:http';
import net from 'node:net';

/** A server listening on 127.0.0.1 with a random port, that can be closed even with SSE streams open. */
export interface Running<S extends net.Server = http.Server> {
  url: string;
  port: number;
  server: S;
  /** Its open sockets, to cut them the way a network drop would. */
  sockets: SocketTracker;
  /** Cuts the open sockets, then closes the server. */
  close(): Promise<void>;
}

/**
 * Starts `server` (HTTP/1, h2c, or plain TCP) on 127.0.0.1:0 and tracks its sockets so `close()` never waits on a
 * long-lived stream.
 */
export async function listen<S extends net.Server>(server: S): Promise<Running<S>> {
  const sockets = trackSockets(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.destroyAll();
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
export function trackSockets(server: net.Server): SocketTracker {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
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

/** A 127.0.0.1 port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const probe = await listen(net.createServer());
  await probe.close();
  return probe.port;
}
