import { randomBytes } from 'node:crypto';
import type { LogEntry, StreamLog, StreamLogLimits } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from './teardown.js';
import { sleep, waitFor } from './wait.js';

// The behaviour every StreamLog (packages/core/src/stream-log-contract.ts) must have, as one suite that runs against
// any implementation: `streamLogContract('Redis', () => redisHarness())`.

/** One storage that logs are opened on, for one test. */
export interface StreamLogHarness {
  /**
   * Opens one more instance of the log on the same storage, as another app instance would (for an in-process
   * storage, a handle on the same one). Each has the harness's `lease` and `tombstone`.
   */
  open(): Promise<StreamLog>;
  /** How long an instance's reader presence, and a producer's lease, last unrenewed, ms. */
  readonly lease: number;
  /** How long an expired stream reads as `expired` before it is `unknown`, ms. */
  readonly tombstone: number;
  /**
   * Stops an instance the way a crash or a lost network does, without `close()`: its presence must lapse on its own.
   * Absent where an instance cannot die apart from its storage (in-memory): those tests are not declared.
   */
  kill?(log: StreamLog): Promise<void>;
  /** How many stored things (Redis keys, map entries) of stream `key` remain. */
  leftovers(key: string): Promise<number>;
  /** Closes every log opened and whatever the harness holds. */
  close(): Promise<void>;
}

/** Limits for a test: large bounds, the given ttl. */
export function limits(overrides: Partial<StreamLogLimits> = {}): StreamLogLimits {
  return { maxEvents: 1000, maxBytes: 1 << 20, ttl: 60_000, ...overrides };
}

/** A stream key no other test uses. */
export function streamKey(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Follows `key` on `log`, collecting what the listener gets, then reads it once, as a reader does. Entries appended
 * on another instance reach a follower from where the log placed its follow, which can be after an append another
 * connection sent at the same moment (the contract's "follow first, then read"); once this resolves, every later
 * append is collected.
 */
export async function collect(log: StreamLog, key: string): Promise<{ entries: LogEntry[]; stop: () => void }> {
  const entries: LogEntry[] = [];
  const stop = log.follow(key, (entry) => entries.push(entry));
  await log.read(key, 0);
  return { entries, stop };
}

/** Creates `key` (failing the test when it exists) and resolves with its generation. */
export async function created(log: StreamLog, key: string, extra: Partial<StreamLogLimits> = {}, owner?: string) {
  const result = await log.create(key, owner, limits(extra));
  if (!result.ok) throw new Error(`create(${key}) answered ${result.reason}`);
  return result.generation;
}

/**
 * Declares the suite. `options.kill`: the harness has `kill()`, so the test of an instance that dies is declared
 * (it is left out, never skipped, where instances cannot die apart from their storage).
 */
export function streamLogContract(
  name: string,
  setup: () => Promise<StreamLogHarness>,
  options: { kill: boolean },
): void {
  describe(`StreamLog contract: ${name}`, () => {
    const teardown = closeAfterEach();
    async function harness(): Promise<StreamLogHarness> {
      return teardown.track(await setup());
    }

    it('create: of two instances creating one key at once, exactly one gets ok; the other gets exists', async () => {
      const h = await harness();
      const [a, b] = [await h.open(), await h.open()];
      const key = streamKey();
      const results = await Promise.all([a.create(key, 'alice', limits()), b.create(key, 'alice', limits())]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, reason: 'exists' }]);
      await expect(a.create(key, 'alice', limits())).resolves.toEqual({ ok: false, reason: 'exists' });
    });

    it('read returns the entries after the position, in order, numbered from 1, the last with its end', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const generation = await created(log, key, {}, 'alice');
      expect(await log.append(key, generation, { event: 'ssekit-stream', data: `{"key":"${key}"}` })).toEqual({
        ok: true,
        seq: 1,
      });
      expect(await log.append(key, generation, { data: 'tok1' })).toEqual({ ok: true, seq: 2 });
      expect(await log.append(key, generation, { data: '' })).toEqual({ ok: true, seq: 3 });
      expect(await log.append(key, generation, { event: 'ssekit-done', data: '{}', end: { type: 'done' } })).toEqual({
        ok: true,
        seq: 4,
      });

      const all = await log.read(key, 0);
      expect(all).toEqual({
        status: 'ok',
        owner: 'alice',
        entries: [
          { seq: 1, event: 'ssekit-stream', data: `{"key":"${key}"}` },
          { seq: 2, data: 'tok1' },
          { seq: 3, data: '' },
          { seq: 4, event: 'ssekit-done', data: '{}', end: { type: 'done' } },
        ],
        head: 4,
        ended: true,
      });
      const tail = await log.read(key, 2);
      expect(tail.status === 'ok' && tail.entries.map((e) => e.seq)).toEqual([3, 4]);
      expect(await log.read(key, 4)).toEqual({ status: 'ok', owner: 'alice', entries: [], head: 4, ended: true });
      expect(await log.read(streamKey(), 0)).toEqual({ status: 'unknown' });
    });

    it('a stream created without an owner reads with owner undefined', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      await created(log, key);
      expect(await log.read(key, 0)).toEqual({ status: 'ok', owner: undefined, entries: [], head: 0, ended: false });
    });

    it('a reader on another instance that follows, then reads, gets every entry once, in order, while appends go on', async () => {
      const h = await harness();
      const [producer, reader] = [await h.open(), await h.open()];
      const key = streamKey();
      const generation = await created(producer, key);
      const total = 200;
      const appending = (async () => {
        for (let i = 1; i <= total; i++) {
          const end = i === total ? { type: 'done' as const } : undefined;
          const result = await producer.append(key, generation, { data: `t${i}`, ...(end ? { end } : {}) });
          expect(result).toEqual({ ok: true, seq: i });
          if (i === 20) await sleep(5);
        }
      })();
      // The reader joins while entries are being appended. The reader's way: follow first, then read, then drop by seq what it already has.
      const got: LogEntry[] = [];
      const live: LogEntry[] = [];
      const stop = reader.follow(key, (entry) => live.push(entry));
      const read = await reader.read(key, 0);
      if (read.status !== 'ok') throw new Error(`read answered ${read.status}`);
      got.push(...read.entries);
      await appending;
      await waitFor(() => live.at(-1)?.end !== undefined || got.at(-1)?.end !== undefined, 'the last entry', 10_000);
      await waitFor(() => Math.max(got.at(-1)?.seq ?? 0, live.at(-1)?.seq ?? 0) === total, 'every entry', 10_000);
      stop();
      // Followed entries come in order, without a gap, from wherever they start.
      for (let i = 1; i < live.length; i++) expect(live[i]?.seq).toBe((live[i - 1]?.seq ?? 0) + 1);
      const last = got.at(-1)?.seq ?? 0;
      const merged = [...got, ...live.filter((e) => e.seq > last)];
      expect(merged.map((e) => e.data)).toEqual(Array.from({ length: total }, (_, i) => `t${i + 1}`));
      expect(merged.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    });

    it('follow delivers entries appended on another instance until it is stopped', async () => {
      const h = await harness();
      const [producer, reader] = [await h.open(), await h.open()];
      const key = streamKey();
      const generation = await created(producer, key);
      const followed = await collect(reader, key);
      const twice = await collect(reader, key);
      await producer.append(key, generation, { data: 'a' });
      await waitFor(() => followed.entries.length === 1 && twice.entries.length === 1, 'the first entry');
      twice.stop();
      await producer.append(key, generation, { data: 'b', event: 'x', end: { type: 'done' } });
      await waitFor(() => followed.entries.length === 2, 'the second entry');
      followed.stop();
      expect(followed.entries).toEqual([
        { seq: 1, data: 'a' },
        { seq: 2, data: 'b', event: 'x', end: { type: 'done' } },
      ]);
      expect(twice.entries).toEqual([{ seq: 1, data: 'a' }]);
    });

    it('append after the end, or with a wrong generation, is stopped and appends nothing', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const generation = await created(log, key);
      expect(await log.append(key, 'not-the-generation', { data: 'x' })).toEqual({ ok: false, reason: 'stopped' });
      await log.append(key, generation, { event: 'ssekit-done', data: '{}', end: { type: 'done' } });
      expect(await log.append(key, generation, { data: 'late' })).toEqual({ ok: false, reason: 'stopped' });
      expect(await log.append(streamKey(), generation, { data: 'x' })).toEqual({ ok: false, reason: 'stopped' });
      const read = await log.read(key, 0);
      expect(read.status === 'ok' && read.entries.map((e) => e.data)).toEqual(['{}']);
    });

    it('a stream recreated after it expired fences the first producer: its appends are stopped', async () => {
      const h = await harness();
      const [first, second] = [await h.open(), await h.open()];
      const key = streamKey();
      const old = await created(first, key, { ttl: 150 });
      await first.append(key, old, { data: 'old' });
      let fresh: string | undefined;
      const deadline = Date.now() + 5000;
      while (fresh === undefined && Date.now() < deadline) {
        const result = await second.create(key, undefined, limits());
        if (result.ok) fresh = result.generation;
        else await sleep(50);
      }
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(old);
      expect(await first.append(key, old, { data: 'stale' })).toEqual({ ok: false, reason: 'stopped' });
      expect(await second.append(key, fresh as string, { data: 'new' })).toEqual({ ok: true, seq: 1 });
      const read = await second.read(key, 0);
      expect(read.status === 'ok' && read.entries.map((e) => e.data)).toEqual(['new']);
    });

    it('maxEvents: appends are refused as full at the bound, and the log ends with too-large within it', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const generation = await created(log, key, { maxEvents: 4 });
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await log.append(key, generation, { data: `e${i}` }));
      const firstFull = results.findIndex((r) => !r.ok);
      expect(firstFull).toBeGreaterThan(0);
      expect(results[firstFull]).toEqual({ ok: false, reason: 'full' });
      for (const later of results.slice(firstFull + 1)) expect(later).toEqual({ ok: false, reason: 'stopped' });
      const read = await log.read(key, 0);
      if (read.status !== 'ok') throw new Error(read.status);
      expect(read.entries.length).toBeLessThanOrEqual(4);
      expect(read.entries.at(-1)).toMatchObject({ event: 'ssekit-error', end: { type: 'error', reason: 'too-large' } });
      expect(JSON.parse(read.entries.at(-1)?.data ?? '')).toMatchObject({ reason: 'too-large' });
      expect(read.entries.slice(0, -1).map((e) => e.data)).toEqual(
        Array.from({ length: firstFull }, (_, i) => `e${i}`),
      );
    });

    it('maxBytes: an entry that would pass the bound in data bytes gets full, and the log ends with too-large', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const generation = await created(log, key, { maxBytes: 10 });
      expect(await log.append(key, generation, { data: 'ééé' })).toEqual({ ok: true, seq: 1 }); // 6 bytes
      expect(await log.append(key, generation, { data: 'abcde' })).toEqual({ ok: false, reason: 'full' });
      const read = await log.read(key, 0);
      if (read.status !== 'ok') throw new Error(read.status);
      expect(read.entries.map((e) => e.end)).toEqual([undefined, { type: 'error', reason: 'too-large' }]);
    });

    it('cancel from another instance reaches onCancel on the producer instance and ends the log', async () => {
      const h = await harness();
      const [producer, other] = [await h.open(), await h.open()];
      const key = streamKey();
      const cancelled: string[] = [];
      const stopListening = producer.onCancel((k) => cancelled.push(k));
      const generation = await created(producer, key);
      await producer.append(key, generation, { data: 'tok' });
      const follower = await collect(other, key);
      await sleep(50);

      expect(await other.cancel(key)).toBe('cancelled');
      await waitFor(() => cancelled.includes(key), 'onCancel on the producer instance', 5000);
      expect(await producer.append(key, generation, { data: 'after' })).toEqual({ ok: false, reason: 'stopped' });
      const read = await producer.read(key, 0);
      if (read.status !== 'ok') throw new Error(read.status);
      expect(read.entries).toEqual([
        { seq: 1, data: 'tok' },
        { seq: 2, event: 'ssekit-error', data: '{"reason":"cancelled"}', end: { type: 'error', reason: 'cancelled' } },
      ]);
      await waitFor(() => follower.entries.at(-1)?.end !== undefined, 'the follower to get the cancel');
      expect(follower.entries.at(-1)?.end).toEqual({ type: 'error', reason: 'cancelled' });
      follower.stop();
      stopListening();

      expect(await other.cancel(key)).toBe('ended');
      expect(await other.cancel(streamKey())).toBe('unknown');
      expect(cancelled.filter((k) => k === key)).toHaveLength(1);
    });

    it('a stream that ended normally is not cancelled: cancel answers ended', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const generation = await created(log, key);
      await log.append(key, generation, { event: 'ssekit-done', data: '{}', end: { type: 'done' } });
      expect(await log.cancel(key)).toBe('ended');
      const read = await log.read(key, 0);
      expect(read.status === 'ok' && read.entries.length).toBe(1);
    });

    it('readers: presence set on one instance is seen on another, and withdrawn', async () => {
      const h = await harness();
      const [a, b] = [await h.open(), await h.open()];
      const key = streamKey();
      await created(a, key);
      expect(await b.hasReaders(key)).toBe(false);
      a.setReaders(key, true);
      await expectEventually(() => b.hasReaders(key), true);
      expect(await a.hasReaders(key)).toBe(true);
      a.setReaders(key, false);
      await expectEventually(() => b.hasReaders(key), false);
      expect(await a.hasReaders(key)).toBe(false);
    });

    /** Two instances of the log; `a` has a reader of a new stream, which `b` has seen. */
    async function readerOnA(h: StreamLogHarness) {
      const [a, b] = [await h.open(), await h.open()];
      const key = streamKey();
      await created(b, key);
      a.setReaders(key, true);
      await expectEventually(() => b.hasReaders(key), true);
      return { a, b, key };
    }

    it('readers: presence outlives its lease while the instance lives (it is renewed)', async () => {
      const h = await harness();
      const { b, key } = await readerOnA(h);
      await sleep(h.lease * 2.5);
      expect(await b.hasReaders(key)).toBe(true);
    });

    it('readers: presence is withdrawn when its instance closes', async () => {
      const h = await harness();
      const { a, b, key } = await readerOnA(h);
      await a.close();
      await expectEventually(() => b.hasReaders(key), false, h.lease * 3);
    });

    it('a stream expires ttl after its last append: expired for the tombstone time, then unknown, then nothing left', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      const ttl = 300;
      const generation = await created(log, key, { ttl });
      await log.append(key, generation, { data: 'a' });
      log.setReaders(key, true);
      log.setReaders(key, false);
      // Appending pushes the expiry back.
      await sleep(ttl / 2);
      await log.append(key, generation, { data: 'b' });
      await sleep(ttl / 2);
      expect((await log.read(key, 0)).status).toBe('ok');
      await expectEventually(async () => (await log.read(key, 0)).status, 'expired', ttl * 10);
      expect(await log.append(key, generation, { data: 'late' })).toEqual({ ok: false, reason: 'stopped' });
      expect(await log.cancel(key)).toBe('unknown');
      await expectEventually(async () => (await log.read(key, 0)).status, 'unknown', h.tombstone * 10);
      await expectEventually(() => h.leftovers(key), 0, h.tombstone * 10);
    });

    it('bad input is refused with a typed error', async () => {
      const h = await harness();
      const log = await h.open();
      await expect(log.create('', undefined, limits())).rejects.toMatchObject({ code: expect.stringMatching(/^SSE_/) });
      await expect(log.create(streamKey(), undefined, limits({ maxEvents: 0 }))).rejects.toMatchObject({
        code: expect.stringMatching(/^SSE_/),
      });
      await expect(log.read(streamKey(), -1)).rejects.toMatchObject({ code: expect.stringMatching(/^SSE_/) });
      expect(() => log.follow(streamKey(), 'nope' as never)).toThrow(
        expect.objectContaining({ code: expect.any(String) }),
      );
      await expect(log.renew([{ key: '', generation: 'g' }])).rejects.toMatchObject({ code: expect.any(String) });
      await expect(log.check(['bad key\n'])).rejects.toMatchObject({ code: expect.any(String) });
    });

    it('producer lease: a stream whose producer stops renewing ends with lost, appended once however many check', async () => {
      const h = await harness();
      const [a, b] = [await h.open(), await h.open()];
      const key = streamKey();
      const generation = await created(a, key);
      await a.append(key, generation, { data: 'tok' });
      expect((await b.read(key, 0)).status).toBe('ok');
      const followed = await collect(b, key);
      await sleep(h.lease * 1.5);
      await Promise.all([a.check([key]), b.check([key]), b.check([key])]);
      await waitFor(() => followed.entries.length === 1, 'the lost entry');
      followed.stop();
      expect(followed.entries[0]).toMatchObject({ seq: 2, end: { type: 'error', reason: 'lost' } });
      const read = await b.read(key, 0);
      expect(read.status === 'ok' && read.entries.map((e) => e.end?.type ?? e.data)).toEqual(['tok', 'error']);
      expect(await a.append(key, generation, { data: 'late' })).toEqual({ ok: false, reason: 'stopped' });
    });

    it('producer lease: a stream renewed (or appended to) within its lease is never cut by a check', async () => {
      const h = await harness();
      const [a, b] = [await h.open(), await h.open()];
      const [renewed, appended] = [streamKey(), streamKey()];
      const [g1, g2] = [await created(a, renewed), await created(a, appended)];
      const until = Date.now() + h.lease * 2.5;
      while (Date.now() < until) {
        await a.renew([{ key: renewed, generation: g1 }]);
        await a.append(appended, g2, { data: 'tok' });
        await b.check([renewed, appended]);
        await sleep(h.lease / 4);
      }
      for (const key of [renewed, appended]) expect(await b.read(key, 0)).toMatchObject({ status: 'ok', ended: false });
    });

    it('producer lease: renew leaves a stream of another generation alone', async () => {
      const h = await harness();
      const log = await h.open();
      const key = streamKey();
      await created(log, key);
      await log.renew([{ key, generation: 'not-its-generation' }]);
      await sleep(h.lease * 1.5);
      await log.check([key]);
      expect(await log.read(key, 0)).toMatchObject({ status: 'ok', ended: true });
    });

    it('a follower of a stream that expires under it before its end gets a terminal lost entry', async () => {
      const h = await harness();
      const [a, b] = [await h.open(), await h.open()];
      const key = streamKey();
      // Long enough for the follow and the read to land before the expiry on a busy machine.
      const generation = await created(a, key, { ttl: 1500 });
      await a.append(key, generation, { data: 'tok' });
      const followed = await collect(b, key);
      expect((await b.read(key, 0)).status).toBe('ok');
      // Its producer lives (renews) but appends nothing more: the stream expires ttl after its last append.
      await expectEventually(
        async () => {
          await a.renew([{ key, generation }]);
          await b.check([key]);
          return followed.entries.some((e) => e.end !== undefined);
        },
        true,
        10_000,
      );
      followed.stop();
      expect(followed.entries.at(-1)).toMatchObject({ end: { type: 'error', reason: 'lost' } });
    });

    if (options.kill) {
      it('a stream whose producer instance died ends with lost within the lease', async () => {
        const h = await harness();
        const [a, b] = [await h.open(), await h.open()];
        const key = streamKey();
        const generation = await created(a, key);
        await a.append(key, generation, { data: 'tok' });
        const followed = await collect(b, key);
        expect((await b.read(key, 0)).status).toBe('ok');
        await h.kill?.(a);
        const killedAt = Date.now();
        const ended = () => followed.entries.some((e) => e.end !== undefined);
        // As the reading hub's timer does: check every third of the lease.
        while (!ended() && Date.now() - killedAt < h.lease * 3) {
          await b.check([key]);
          await sleep(h.lease / 3);
        }
        followed.stop();
        // A follower may get entries from before it followed too; a reader drops them by seq.
        expect(followed.entries.at(-1)).toMatchObject({ seq: 2, end: { type: 'error', reason: 'lost' } });
        expect(await b.read(key, 0)).toMatchObject({ status: 'ok', ended: true, head: 2 });
      });

      it('readers: the presence of an instance that dies lapses within its lease', async () => {
        const h = await harness();
        const [a, b] = [await h.open(), await h.open()];
        const key = streamKey();
        await created(b, key);
        a.setReaders(key, true);
        await expectEventually(() => b.hasReaders(key), true);
        await h.kill?.(a);
        await expectEventually(() => b.hasReaders(key), false, h.lease * 3);
      });
    }
  });
}

/** Polls `read` until it answers `expected`; fails with the last answer after `timeout` ms. */
export async function expectEventually<T>(read: () => Promise<T>, expected: T, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  let last: T = await read();
  while (last !== expected && Date.now() < deadline) {
    await sleep(20);
    last = await read();
  }
  expect(last).toBe(expected);
}
