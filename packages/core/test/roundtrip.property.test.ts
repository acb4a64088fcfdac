import { formatEvent } from '@ssekit/core';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Parses `text` with eventsource-parser, fed in chunks of `chunk` characters like a socket would deliver it. */
function parse(text: string, chunk = text.length || 1): { events: EventSourceMessage[]; comments: string[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
  for (let i = 0; i < text.length; i += chunk) parser.feed(text.slice(i, i + chunk));
  return { events, comments };
}

// Characters that break naive framing, mixed with any code point (astral planes included).
const tricky = fc.constantFrom('\r', '\n', '\r\n', '\n\r', '\0', ' ', ':', '\ufeff', '\u2028', '😀', 'é');
const anyText = fc.string({ unit: fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) });
const singleLine = anyText.map((s) => s.replace(/[\r\n]/g, ''));

// What a Last-Event-ID header carries back intact: printable ASCII, no space at either end.
const headerSafeId = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 64 })
  .filter((s) => s === s.trim());

const RUNS = 3000;

describe('round trip: formatEvent → eventsource-parser', () => {
  it('any string arrives as one event with equal data, CR and CRLF normalized to LF', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 7 }), (data, chunk) => {
        const { events } = parse(formatEvent({ data }), chunk);
        expect(events).toHaveLength(1);
        expect(events[0]!.data).toBe(data.replace(/\r\n|\r/g, '\n'));
      }),
      { numRuns: RUNS },
    );
  });

  it('any single-line event name and any id send() accepts arrive unchanged, next to any data', () => {
    fc.assert(
      fc.property(
        singleLine.filter((s) => s.length > 0 && (s as string & { isWellFormed(): boolean }).isWellFormed()),
        headerSafeId,
        anyText,
        (event, id, data) => {
          const { events } = parse(formatEvent({ event, id, data }));
          expect(events).toEqual([{ event, id, data: data.replace(/\r\n|\r/g, '\n') }]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a sequence of events arrives as the same sequence, split anywhere', () => {
    fc.assert(
      fc.property(fc.array(anyText, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 13 }), (list, chunk) => {
        const text = list.map((data) => formatEvent({ data })).join('');
        const { events } = parse(text, chunk);
        expect(events.map((e) => e.data)).toEqual(list.map((data) => data.replace(/\r\n|\r/g, '\n')));
      }),
      { numRuns: RUNS / 3 },
    );
  });

  it('any comment is ignored as an event and arrives line by line as comments', () => {
    fc.assert(
      fc.property(anyText, (comment) => {
        const { events, comments } = parse(formatEvent({ comment }));
        expect(events).toEqual([]);
        expect(comments).toEqual(comment.split(/\r\n|\r|\n/));
      }),
      { numRuns: RUNS / 3 },
    );
  });

  it('any non-string value JSON can represent arrives as JSON that parses back to it (strings go as is)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((value) => typeof value !== 'string'),
        (value) => {
          const { events } = parse(formatEvent({ data: value }));
          expect(JSON.parse(events[0]!.data)).toEqual(JSON.parse(JSON.stringify(value)));
        },
      ),
      { numRuns: RUNS / 3 },
    );
  });
});
