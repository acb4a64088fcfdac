import { createMemoryBroker, SseError, SseRangeError } from '@ssekit/core';
import { type Envelope, History, matches, type ReplayFilter, type Target } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import { expectSseError } from '../../../test/support/errors.js';

const ALL: Target = { type: 'all' };
const anyone: ReplayFilter = { clientId: undefined, topics: new Set() };

function envelope(id: string, target: Target = ALL): Envelope {
  return { id, target, data: `data of ${id}` };
}

/** True when a client holding `id` can resume from it: the id is still in history (at time `now`). */
function kept(history: History, id: string, now?: number): boolean {
  return history.after(id, anyone, undefined, now).ok;
}

function ids(result: ReturnType<History['after']>): string[] | string {
  return result.ok ? result.events.map((e) => e.id) : result.reason;
}

describe('History: ring buffer', () => {
  it('replays the events after an id, oldest first', () => {
    const history = new History({ size: 10 });
    for (const id of ['a', 'b', 'c', 'd']) history.append(envelope(id));
    expect(ids(history.after('b', anyone))).toEqual(['c', 'd']);
    expect(ids(history.after('d', anyone))).toEqual([]);
    expect(history.head).toBe('d');
    expect(history.length).toBe(4);
  });

  it('keeps only the newest `size` events', () => {
    const history = new History({ size: 3 });
    for (const id of ['1', '2', '3', '4', '5']) history.append(envelope(id));
    expect(history.length).toBe(3);
    expect(ids(history.after('3', anyone))).toEqual(['4', '5']);
    expect(ids(history.after('2', anyone))).toBe('unknown-id');
  });

  it('forgets evicted ids from its index', () => {
    const history = new History({ size: 2 });
    for (const id of ['1', '2', '3']) history.append(envelope(id));
    expect(kept(history, '1')).toBe(false);
    expect(kept(history, '2')).toBe(true);
    expect(kept(history, '3')).toBe(true);
  });

  it('keeps memory bounded over many appends: the ring wraps and only `size` ids stay indexed', () => {
    const history = new History({ size: 100 });
    for (let i = 0; i < 10_000; i++) history.append(envelope(String(i)));
    expect(history.length).toBe(100);
    let indexed = 0;
    for (let i = 0; i < 10_000; i++) if (kept(history, String(i))) indexed++;
    expect(indexed).toBe(100);
    expect(ids(history.after('9989', anyone))).toEqual([
      '9990',
      '9991',
      '9992',
      '9993',
      '9994',
      '9995',
      '9996',
      '9997',
      '9998',
      '9999',
    ]);
  });

  it('with a repeated caller-given id, resumes after the newest one and keeps it indexed when the older one leaves', () => {
    const history = new History({ size: 3 });
    history.append(envelope('dup'));
    history.append(envelope('x'));
    history.append(envelope('dup'));
    history.append(envelope('y'));
    expect(kept(history, 'dup')).toBe(true);
    expect(ids(history.after('dup', anyone))).toEqual(['y']);
  });

  it('tells an expired id from an unknown one through isOlder', () => {
    const history = new History({ size: 1 });
    history.append(envelope('old'));
    history.append(envelope('new'));
    const result = history.after('old', anyone, (id) => id === 'old');
    expect(result).toEqual({ ok: false, reason: 'expired', head: 'new' });
    expect(history.after('never', anyone, () => false)).toEqual({ ok: false, reason: 'unknown-id', head: 'new' });
  });

  it('answers a gap with no head when empty', () => {
    expect(new History().after('x', anyone)).toEqual({ ok: false, reason: 'unknown-id', head: undefined });
  });
});

describe('History: filters', () => {
  const history = new History();
  history.append(envelope('start'));
  history.append(envelope('to-alice', { type: 'client', clientId: 'alice' }));
  history.append(envelope('to-bob', { type: 'client', clientId: 'bob' }));
  history.append(envelope('news', { type: 'topic', topic: 'news' }));
  history.append(envelope('sport', { type: 'topic', topic: 'sport' }));
  history.append(envelope('all'));

  it('replays to a client its own events, its topics and broadcasts', () => {
    expect(ids(history.after('start', { clientId: 'alice', topics: new Set(['news']) }))).toEqual([
      'to-alice',
      'news',
      'all',
    ]);
  });

  it('replays to an anonymous connection only its topics and broadcasts', () => {
    expect(ids(history.after('start', { clientId: undefined, topics: new Set(['sport']) }))).toEqual(['sport', 'all']);
  });

  it('matches() is the same rule for live delivery', () => {
    expect(matches({ type: 'client', clientId: 'a' }, { clientId: undefined, topics: new Set() })).toBe(false);
    expect(matches({ type: 'client', clientId: 'a' }, { clientId: 'a', topics: new Set() })).toBe(true);
    expect(matches({ type: 'topic', topic: 't' }, { clientId: 'a', topics: new Set(['t']) })).toBe(true);
    expect(matches(ALL, anyone)).toBe(true);
  });
});

describe('History: maxAge', () => {
  it('drops events older than maxAge before a replay', () => {
    const history = new History({ size: 10, maxAge: 1000 });
    history.append(envelope('a'), 0);
    history.append(envelope('b'), 500);
    history.append(envelope('c'), 1500);
    history.append(envelope('d'), 2000);
    // At t=2100, a (t=0) and b (t=500) are older than 1000 ms.
    expect(ids(history.after('a', anyone, undefined, 2100))).toBe('unknown-id');
    expect(kept(history, 'b', 2100)).toBe(false);
    expect(ids(history.after('c', anyone, undefined, 2100))).toEqual(['d']);
  });

  it('keeps the newest event even when it is old: it is the cursor a returning client holds', () => {
    const history = new History({ maxAge: 10 });
    history.append(envelope('only'), 0);
    expect(ids(history.after('only', anyone, undefined, 1_000_000))).toEqual([]);
    expect(history.head).toBe('only');
  });
});

describe('History: options', () => {
  it.each([
    [{ size: 0 }, 'History `size` must be a positive whole number, got 0.'],
    [{ size: 1.5 }, 'History `size` must be a positive whole number, got 1.5.'],
    [{ maxAge: 0 }, 'History `maxAge` must be a positive whole number of milliseconds, got 0.'],
  ])('rejects %o with a RangeError', (options, message) => {
    expectSseError(() => new History(options), {
      base: RangeError,
      type: SseRangeError,
      code: 'SSE_INVALID_OPTION',
      message,
    });
  });

  it('rejects an unknown option', () => {
    expectSseError(() => new History({ length: 5 } as never), {
      base: Error,
      type: SseError,
      code: 'SSE_INVALID_OPTION',
      message: 'Unknown option `length` for history. Known options: size, maxAge.',
    });
  });
});

describe('MemoryBroker', () => {
  it('assigns ordered ids <prefix>-<n> and delivers each event once, in order', () => {
    const broker = createMemoryBroker();
    const delivered: string[] = [];
    broker.start((e) => delivered.push(e.id));
    const a = broker.publish({ target: ALL, data: 'a' });
    const b = broker.publish({ target: ALL, data: 'b' });
    expect(a).toMatch(/^[0-9a-f]{6}-1$/);
    expect(b).toBe(a.replace(/-1$/, '-2'));
    expect(delivered).toEqual([a, b]);
  });

  it('uses a different prefix per instance, so a cursor from before a restart is unknown, not misread', () => {
    const before = createMemoryBroker();
    const after = createMemoryBroker();
    const old = before.publish({ target: ALL, data: 'x' });
    after.publish({ target: ALL, data: 'y' });
    expect(after.replay(old, anyone)).toMatchObject({ ok: false, reason: 'unknown-id' });
  });

  it('keeps a caller-given id', () => {
    const broker = createMemoryBroker();
    expect(broker.publish({ target: ALL, data: 'x', id: 'mine' })).toBe('mine');
    expect(broker.replay('mine', anyone)).toEqual({ ok: true, events: [] });
  });

  it('reports an id it issued that has left history as expired', () => {
    const broker = createMemoryBroker({ history: { size: 1 } });
    const old = broker.publish({ target: ALL, data: '1' });
    const head = broker.publish({ target: ALL, data: '2' });
    expect(broker.replay(old, anyone)).toEqual({ ok: false, reason: 'expired', head });
  });

  it('with history: false, every replay is a gap without a head', () => {
    const broker = createMemoryBroker({ history: false });
    const id = broker.publish({ target: ALL, data: '1' });
    expect(broker.replay(id, anyone)).toEqual({ ok: false, reason: 'unknown-id' });
  });

  it('refuses events once closed', () => {
    const broker = createMemoryBroker();
    broker.close();
    expectSseError(() => broker.publish({ target: ALL, data: 'x' }), {
      base: Error,
      type: SseError,
      code: 'SSE_HUB_CLOSED',
      message: 'The broker is closed: this hub no longer accepts events.',
    });
  });
});
