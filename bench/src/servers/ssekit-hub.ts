/** The contract's routes for an ssekit hub on plain `node:http`: shared by the core, metrics and Redis servers. */
import type { Server } from 'node:http';
import { createStream, type Hub, type StreamOptions } from '@ssekit/core';
import { serveContract } from './contract.js';

/** Serves `GET /sse` as a stream attached to `hub`, and publishes each event with `hub.broadcast`. */
export function serveHub(hub: Hub, streamOptions: StreamOptions = {}): Server {
  return serveContract({
    open: (req, res) => {
      void hub.attach(createStream(req, res, streamOptions));
    },
    // A refused publish (Redis down) is counted and logged by the hub itself, never an unhandled rejection.
    publish: (data) => {
      void hub.broadcast(data);
    },
    connections: () => hub.size,
  });
}
