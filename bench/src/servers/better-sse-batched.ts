/**
 * better-sse on plain `node:http`, batching as its docs recommend for many events at once: the events are pushed into
 * one `EventBuffer` (`createEventBuffer`), and its contents are sent to every session of the channel with
 * `session.batch(buffer)`, one write per session. The app decides what a batch is; here, as in ssekit and
 * raw-batched.ts, what one event-loop turn published (sent from a `setImmediate` after the turn).
 */
import { createChannel, createEventBuffer, createSession, type EventBuffer } from 'better-sse';
import { heartbeatFromEnv, serveContract } from './contract.js';

const channel = createChannel();
const heartbeat = heartbeatFromEnv();
const sessionOptions = heartbeat === undefined ? {} : { keepAlive: heartbeat };
let buffer: EventBuffer | undefined;
const ignore = (): void => {};

function flush(): void {
  const batch = buffer as EventBuffer;
  buffer = undefined;
  for (const session of channel.activeSessions) session.batch(batch).catch(ignore);
}

function publish(data: string): void {
  if (buffer === undefined) {
    buffer = createEventBuffer();
    setImmediate(flush);
  }
  buffer.push(data);
}

serveContract({
  open: (req, res) => {
    createSession(req, res, sessionOptions).then(
      (session) => channel.register(session),
      (error: Error) => res.destroy(error),
    );
  },
  publish,
  connections: () => channel.sessionCount,
});
