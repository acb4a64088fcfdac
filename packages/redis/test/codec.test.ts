import type { OutgoingEnvelope } from '@ssekit/core/broker';
import { describe, expect, it } from 'vitest';
import {
  decodeEntries,
  decodeEntry,
  decodeRead,
  decodeTarget,
  encodeControl,
  encodeEnvelope,
  encodeTarget,
} from '../src/codec.js';
import { compareStreamIds, isStreamId } from '../src/stream-id.js';

/** What the publish script stores: `p <prev>` followed by the codec's fields. */
function stored(envelope: OutgoingEnvelope, prev = ''): string[] {
  return ['p', prev, ...encodeEnvelope(envelope)];
}

describe('the entry codec', () => {
  it('round-trips a broadcast, a client event and a topic event with every field', () => {
    const envelopes: OutgoingEnvelope[] = [
      { target: { type: 'all' }, data: '{"n":1}' },
      { target: { type: 'client', clientId: 'alice:42' }, data: 'two\nlines\r\nand more', event: 'note' },
      { target: { type: 'topic', topic: 'news/eu' }, data: '', event: 'tick', retry: 2500 },
    ];
    for (const envelope of envelopes) {
      const entry = decodeEntry('1700000000000-3', stored(envelope, '1700000000000-2'));
      expect(entry.prev).toBe('1700000000000-2');
      expect(entry.envelope).toEqual({ id: '1700000000000-3', event: undefined, retry: undefined, ...envelope });
    }
  });

  it('keeps unicode data byte for byte', () => {
    const data = 'héllo 👋 \u2028 ✓';
    expect(decodeEntry('1-1', stored({ target: { type: 'all' }, data })).envelope?.data).toBe(data);
  });

  it('writes the target compactly and reads back only what it wrote', () => {
    expect(encodeTarget({ type: 'all' })).toBe('*');
    expect(encodeTarget({ type: 'client', clientId: 'a' })).toBe('c:a');
    expect(encodeTarget({ type: 'topic', topic: 't:x' })).toBe('t:t:x');
    expect(decodeTarget('t:t:x')).toEqual({ type: 'topic', topic: 't:x' });
    for (const foreign of ['', 'c:', 'x:a', 'c-a', 'all']) expect(decodeTarget(foreign)).toBeUndefined();
  });

  it('ignores fields it does not know, so newer writers can add some', () => {
    const entry = decodeEntry('5-0', ['p', '4-0', 'v', '2', 'to', '*', 'd', 'x', 'z', 'y']);
    expect(entry.envelope?.data).toBe('x');
  });

  it('yields no envelope for entries another program wrote, but still reads their chain link', () => {
    expect(decodeEntry('5-0', ['foo', 'bar'])).toEqual({ id: '5-0', prev: undefined, envelope: undefined });
    expect(decodeEntry('5-0', ['p', '4-0', 'to', '*'])).toEqual({ id: '5-0', prev: '4-0', envelope: undefined });
  });

  it('reads the epoch the publish script writes next to the chain link, for events and controls alike', () => {
    const event = decodeEntry('5-0', ['p', '4-0', 'g', '1700000000000123', 'to', '*', 'd', 'x']);
    expect(event).toMatchObject({ prev: '4-0', epoch: '1700000000000123', envelope: { data: 'x' } });
    const control = decodeEntry('6-0', [
      'p',
      '5-0',
      'g',
      '1700000000000456',
      ...encodeControl({ action: 'disconnect', clientId: 'a', origin: 'h' }),
    ]);
    expect(control).toMatchObject({ epoch: '1700000000000456', control: { clientId: 'a' } });
    expect(decodeEntry('5-0', ['to', '*', 'd', 'x']).epoch).toBeUndefined();
  });

  it('refuses an event name or retry that could inject fields into the SSE stream', () => {
    expect(decodeEntry('5-0', ['to', '*', 'd', 'x', 'e', 'a\nid: 9']).envelope).toBeUndefined();
    for (const retry of ['-1', '1.5', '1e3', ' 7', '99999999999999999']) {
      expect(decodeEntry('5-0', ['to', '*', 'd', 'x', 'r', retry]).envelope).toBeUndefined();
    }
  });

  it('decodes XRANGE and XREAD replies and rejects other shapes', () => {
    const entries = [['1-0', stored({ target: { type: 'all' }, data: 'a' })]];
    expect(decodeEntries(entries).map((e) => e.id)).toEqual(['1-0']);
    expect(decodeRead(null).size).toBe(0);
    expect(
      decodeRead([['key', entries]])
        .get('key')
        ?.map((e) => e.envelope?.data),
    ).toEqual(['a']);
    expect(() => decodeEntries('OK')).toThrow(TypeError);
    expect(() => decodeEntries([['not-an-id', []]])).toThrow(TypeError);
    expect(() => decodeRead([])).toThrow(TypeError);
  });
});

describe('control entries', () => {
  it('round-trip a disconnect, with and without a retry hint, as a control and never as an event', () => {
    const messages = [
      { action: 'disconnect', clientId: 'alice:42', origin: 'hub-a', retry: 2500 },
      { action: 'disconnect', clientId: 'bob', origin: 'hub-b', retry: undefined },
    ] as const;
    for (const message of messages) {
      const entry = decodeEntry('7-0', ['p', '6-0', ...encodeControl(message)]);
      expect(entry).toEqual({ id: '7-0', prev: '6-0', envelope: undefined, control: message });
    }
  });

  it('carry no data field, so a reader that knows no controls skips them instead of delivering an event', () => {
    const fields = encodeControl({ action: 'disconnect', clientId: 'alice', origin: 'hub-a' });
    expect(fields.filter((_, i) => i % 2 === 0)).not.toContain('d');
  });

  it('are never an event, even with a data field; an unknown action or a bad target or retry is skipped', () => {
    const control = ['to', 'c:alice', 'x', 'disconnect', 'o', 'hub-a'];
    expect(decodeEntry('7-0', [...control, 'd', 'x']).envelope).toBeUndefined();
    expect(decodeEntry('7-0', [...control, 'd', 'x']).control?.clientId).toBe('alice');
    for (const fields of [
      ['to', 'c:alice', 'x', 'kick', 'd', 'x'],
      ['to', 't:news', 'x', 'disconnect'],
      ['to', '*', 'x', 'disconnect'],
      [...control, 'r', '1\nid: 9'],
    ]) {
      const entry = decodeEntry('7-0', fields);
      expect([entry.envelope, entry.control], fields.join(' ')).toEqual([undefined, undefined]);
    }
  });
});

describe('stream ids', () => {
  it('accepts only canonical <ms>-<seq> ids within 64 bits', () => {
    for (const id of ['0-0', '1-0', '1700000000000-12', '18446744073709551615-18446744073709551615']) {
      expect(isStreamId(id), id).toBe(true);
    }
    for (const id of ['', '1', '1-', '-1', '01-0', '1-01', '1-0 ', 'a-b', '18446744073709551616-0', '1-0-0', '１-0']) {
      expect(isStreamId(id), id).toBe(false);
    }
  });

  it('orders ids numerically, with the empty cursor first', () => {
    const sorted = ['', '0-0', '0-1', '9-0', '10-0', '10-2', '10-10', '1700000000000-0', '18446744073709551615-0'];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareStreamIds)).toEqual(sorted);
    expect(compareStreamIds('10-2', '10-2')).toBe(0);
  });
});
