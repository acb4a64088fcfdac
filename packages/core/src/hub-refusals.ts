import type { HubCounters } from './hub-stats.js';
import type { Refusal } from './limits.js';

// The counters of each hub, for `countRefusal`: adapters count a refusal without a public member on the hub.
const refusalCounters = new WeakMap<object, HubCounters>();

/** Where {@link countRefusal} counts the refusals of `hub` (the hub registers its counters once). */
export function registerRefusalCounters(hub: object, counters: HubCounters): void {
  refusalCounters.set(hub, counters);
}

/** Counts a connection the hub's limits refused (`openConnection` does, when `hub.admit()` said no). */
export function countRefusal(hub: object, refusal: Refusal): void {
  const counters = refusalCounters.get(hub);
  if (counters === undefined) return;
  counters.refused++;
  counters.detail.refusals[refusal]++;
}
