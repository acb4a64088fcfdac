import { createMemoryStreamLog } from '@ssekit/core';
import { endEntry, type LogEntry } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../../test/support/wait.js';

// The in-memory StreamLog against the contract in stream-log-contract.ts.

const limits = { maxEvents: 100, maxBytes: 10_000, ttl: 60_000 };

describe('the in-memory stream log', () => {
  it('creates a key once: a second create answers "exists"', async () => {
    const log = createMemoryStreamLog();
    const first = await log.create('k', 'alice', limits);
    expect(first.ok).toBe(true);
    expect(await log.create('k', 'bob', limits)).toEqual({ ok: false, reason: 'exists' });
    log.close();
  });

  it('numbers entries 1, 2, 3 and reads every entry after a position, with the owner and the head', async () => {
    const log = createMemoryStreamLog();
    const created = await log.create('k', 'alice', limits);
    if (!created.ok) throw new Error('not created');
    for (const data of ['a', 'b', 'c']) await log.append('k', created.generation, { data });
    const read = await log.read('k', 1);
    expect(read).toMatchObject({ status: 'ok', owner: 'alice', head: 3, ended: false });
    expect(read.status === 'ok' && read.entries.map((e) => [e.seq, e.data])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ]);
    log.close();
  });

  it('follow() gets entries in order until unfollowed; a terminal entry stops later appends', async () => {
    const log = createMemoryStreamLog();
    const created = await log.create('k', undefined, limits);
    if (!created.ok) throw new Error('not created');
    const seen: LogEntry[] = [];
    const unfollow = log.follow('k', (entry) => seen.push(entry));
    await log.append('k', created.generation, { data: 'a' });
    await log.append('k', created.generation, endEntry({ type: 'done' }));
    expect(await log.append('k', created.generation, { data: 'late' })).toEqual({ ok: false, reason: 'stopped' });
    unfollow();
    expect(seen.map((e) => [e.seq, e.event, e.end])).toEqual([
      [1, undefined, undefined],
      [2, 'ssekit-done', { type: 'done' }],
    ]);
    log.close();
  });

  it('fences appends by generation: an old producer of a recreated key gets "stopped"', async () => {
    const log = createMemoryStreamLog();
    const created = await log.create('k', undefined, limits);
    if (!created.ok) throw new Error('not created');
    expect(await log.append('k', 'another', { data: 'x' })).toEqual({ ok: false, reason: 'stopped' });
    log.close();
  });

  it('cancel() appends the terminal "cancelled" entry and tells onCancel listeners', async () => {
    const log = createMemoryStreamLog();
    const created = await log.create('k', undefined, limits);
    if (!created.ok) throw new Error('not created');
    const cancelled: string[] = [];
    log.onCancel((key) => cancelled.push(key));
    expect(await log.cancel('k')).toBe('cancelled');
    expect(await log.cancel('k')).toBe('ended');
    expect(await log.cancel('other')).toBe('unknown');
    expect(cancelled).toEqual(['k']);
    const read = await log.read('k', 0);
    expect(read.status === 'ok' && read.entries.at(-1)?.data).toBe('{"reason":"cancelled"}');
    log.close();
  });

  it('past maxEvents or maxBytes answers "full" and ends the log with "too-large"', async () => {
    const log = createMemoryStreamLog();
    // One place is kept for the terminal entry: the log never holds more than maxEvents entries.
    const created = await log.create('k', undefined, { ...limits, maxEvents: 3 });
    if (!created.ok) throw new Error('not created');
    await log.append('k', created.generation, { data: 'a' });
    await log.append('k', created.generation, { data: 'b' });
    expect(await log.append('k', created.generation, { data: 'c' })).toEqual({ ok: false, reason: 'full' });
    const read = await log.read('k', 0);
    expect(read.status === 'ok' && [read.head, read.ended, read.entries.at(-1)?.end]).toEqual([
      3,
      true,
      { type: 'error', reason: 'too-large' },
    ]);
    log.close();
  });

  it('hasReaders() is true while any setReaders(true) is not balanced by a setReaders(false)', async () => {
    const log = createMemoryStreamLog();
    log.setReaders('k', true);
    log.setReaders('k', true);
    log.setReaders('k', false);
    expect(await log.hasReaders('k')).toBe(true);
    log.setReaders('k', false);
    expect(await log.hasReaders('k')).toBe(false);
    log.close();
  });

  it('expires a stream ttl after its last append (410), forgets it after the tombstone time (404), and stops its timer', async () => {
    const log = createMemoryStreamLog({ tombstone: 60 });
    const created = await log.create('k', undefined, { ...limits, ttl: 60 });
    if (!created.ok) throw new Error('not created');
    expect(log.sweeping).toBe(true);
    await sleep(40);
    await log.append('k', created.generation, { data: 'keeps it alive' });
    await sleep(40);
    expect((await log.read('k', 0)).status).toBe('ok');
    await waitFor(() => log.size === 0, 'the stream to expire', 2000);
    expect((await log.read('k', 0)).status).toBe('expired');
    await waitFor(() => log.tombstoneCount === 0, 'the tombstone to go', 2000);
    expect((await log.read('k', 0)).status).toBe('unknown');
    expect(log.sweeping).toBe(false);
  });

  it('returns the heap to its baseline once 1,000 finished streams have expired and been forgotten', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const log = createMemoryStreamLog({ tombstone: 50 });
    gc();
    const baseline = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) {
      const created = await log.create(`k${i}`, undefined, { ...limits, ttl: 50 });
      if (!created.ok) throw new Error('not created');
      for (let j = 0; j < 20; j++) await log.append(`k${i}`, created.generation, { data: 'x'.repeat(100) });
      await log.append(`k${i}`, created.generation, endEntry({ type: 'done' }));
    }
    gc();
    const loaded = process.memoryUsage().heapUsed;
    await waitFor(() => log.size === 0 && log.tombstoneCount === 0, 'every stream to be forgotten', 5000);
    gc();
    const after = process.memoryUsage().heapUsed;
    // 1,000 streams of 2 KB held several MB; what stays is noise from the test itself.
    expect(loaded - baseline).toBeGreaterThan(2_000_000);
    expect(after - baseline).toBeLessThan(500_000);
    expect(log.sweeping).toBe(false);
    log.close();
  });
});
