import { createMemoryStreamLog, type MemoryStreamLog } from '@ssekit/core/broker';
import { type StreamLogHarness, streamLogContract } from '../../../test/support/stream-log-contract.js';

// The in-memory log against the contract every StreamLog keeps (the Redis one runs the same suite). Its instances
// are handles on one process's storage, so the test of an instance that dies apart from its storage is not declared.
function memoryHarness(): StreamLogHarness {
  const log = createMemoryStreamLog({ producerLease: 300, tombstone: 1000 });
  const held = log as unknown as Record<'streams' | 'tombstones' | 'followers' | 'readers', Map<string, unknown>>;
  return {
    open: async () => log as MemoryStreamLog,
    // Presence in one process has no lease; the producer's is 300 ms, as the Redis suite's.
    lease: 300,
    tombstone: 1000,
    leftovers: async (key) =>
      [held.streams, held.tombstones, held.followers, held.readers].filter((map) => map.has(key)).length,
    close: async () => log.close(),
  };
}

streamLogContract('memory', async () => memoryHarness(), { kill: false });
