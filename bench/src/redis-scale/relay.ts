/**
 * A TCP relay in front of Redis that counts the bytes Redis sends through it: one per instance, so that the Redis
 * egress of each instance is measured on its own (Redis 7.0's `CLIENT LIST` has no per-connection byte counters,
 * and `INFO stats` counts the whole server).
 */
import net from 'node:net';

export interface CountingRelay {
  readonly url: string;
  /** Bytes Redis sent through this relay since the last `reset()`. */
  readonly bytesFromRedis: number;
  reset(): void;
  close(): Promise<void>;
}

export function startRelay(redisUrl: string): Promise<CountingRelay> {
  const target = new URL(redisUrl);
  let bytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        url: `redis://127.0.0.1:${address.port}`,
        get bytesFromRedis() {
          return bytes;
        },
        reset: () => {
          bytes = 0;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
