import { createHub, type Hub } from '@ssekit/core';

/**
 * The hub every `sse()` route joins unless it is given its own `hub` option: `hub.send(clientId, data)`,
 * `hub.publish(topic, data)`, `hub.broadcast(data)`, `hub.disconnect(clientId)`. In-memory, with a history of
 * 1000 events for `Last-Event-ID` resume. For several processes, create a hub with a Redis broker and pass it as
 * `hub` to each route instead.
 */
export const hub: Hub = createHub();
