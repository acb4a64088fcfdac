import net from 'node:net';

/** What a server said to one raw request. */
export interface RawAnswer {
  /** The status code of the first response line, or 0 when the server closed without answering. */
  status: number;
  /** Everything received, decoded as latin1 (head and body, chunk sizes included). */
  text: string;
  /** True when the server closed the connection. */
  closed: boolean;
}

/**
 * Writes `request` as-is to 127.0.0.1:`port` (no validation: malformed bytes are the point) and resolves once the
 * response head has arrived and `enough(text)` holds, or the server closed, or `timeout` ms passed (then rejects).
 * The socket is destroyed afterwards.
 */
export function rawExchange(
  port: number,
  request: string | Buffer,
  options: { enough?: (text: string) => boolean; timeout?: number } = {},
): Promise<RawAnswer> {
  const enough = options.enough ?? (() => true);
  return new Promise((resolve, reject) => {
    let text = '';
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: status ? Number(status[1]) : 0, text, closed });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(
        new Error(`No complete answer within ${options.timeout ?? 5000} ms; got ${JSON.stringify(text.slice(0, 300))}`),
      );
    }, options.timeout ?? 5000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n') && enough(text)) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}
