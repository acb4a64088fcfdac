/**
 * ssekit with a Redis broker: `node:http` + core, the hub's broker from `createRedisBroker`. Two of these share one
 * Redis in the cross-instance part of the bench; the broadcast is published on one and reaches both.
 */
import { createHub } from '@ssekit/core';
import { createRedisBroker } from '@ssekit/redis';
import { serveHub } from './ssekit-hub.js';

const url = process.env.BENCH_REDIS_URL;
if (url === undefined) throw new Error('BENCH_REDIS_URL is not set');
const hub = createHub({ broker: createRedisBroker({ url }) });
await hub.ready();

serveHub(hub);
