/** ssekit without a framework: `node:http`, `createStream` and one hub (`hub.attach`, `hub.broadcast`). */
import { createHub, createStream } from '@ssekit/core';
import { heartbeatFromEnv, serveContract } from './contract.js';

const hub = createHub();
const heartbeat = heartbeatFromEnv();
const streamOptions = heartbeat === undefined ? {} : { heartbeat };

serveContract({
  open: (req, res) => {
    void hub.attach(createStream(req, res, streamOptions));
  },
  publish: (data) => {
    void hub.broadcast(data);
  },
  connections: () => hub.size,
});
