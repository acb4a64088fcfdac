import net from 'node:net';

/** A client that sends a GET and then never reads: the server's writes pile up in the kernel, then in Node. */
export interface StalledClient {
  socket: net.Socket;
  close(): void;
}

/** Connects to `url` (127.0.0.1), sends a GET for its path and stops reading at once. */
export function stalledClient(url: string, headers: Record<string, string> = {}): Promise<StalledClient> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.pause();
      const lines = [`GET ${pathname}${search} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Accept: text/event-stream'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      resolve({ socket, close: () => socket.destroy() });
    });
    socket.on('error', reject);
  });
}
