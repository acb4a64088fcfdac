/** ssekit without a framework: `node:http`, `createStream` and one hub (`hub.attach`, `hub.broadcast`). */
import { createHub } from '@ssekit/core';
import { heartbeatFromEnv } from './contract.js';
import { serveHub } from './ssekit-hub.js';

const hub = createHub();
const heartbeat = heartbeatFromEnv();
const streamOptions = heartbeat === undefined ? {} : { heartbeat };

serveHub(hub, streamOptions);
