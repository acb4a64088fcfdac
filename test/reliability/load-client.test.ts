import net from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpResponseReader } from '../../bench/src/client/http-response.js';
import { SsePrefixParser } from '../../bench/src/client/sse-prefix-parser.js';
import { LoadConnection, type LoadEvent } from '../support/load.js';

// The load tests count loss with a hand-written parser; it must agree with eventsource-parser on any byte split.
describe('the load client used by the reliability tests', () => {
  const line = fc.stringMatching(/^[a-z0-9 :]{0,12}$/);
  const field = fc.oneof(
    line.map((v) => `data: ${v}`),
    line.map((v) => `data:${v}`),
    fc.constant('data'),
    line.map((v) => `id: ${v}`),
    line.map((v) => `event: ${v}`),
    line.map((v) => `: ${v}`),
    fc.nat(9999).map((n) => `retry: ${n}`),
    fc.constant(''),
  );
  const stream = fc.tuple(
    fc.array(field, { maxLength: 40 }),
    fc.constantFrom('\n', '\r\n', '\r'),
    fc.array(fc.nat(), { maxLength: 12 }),
  );

  it('parses a chunked text/event-stream exactly like eventsource-parser, however the bytes are split', () => {
    fc.assert(
      fc.property(stream, ([lines, eol, cuts]) => {
        const body = Buffer.from(`${lines.join(eol)}${eol}${eol}`);
        const expected: { type: string; data: string }[] = [];
        createParser({
          onEvent: (event: EventSourceMessage) => expected.push({ type: event.event ?? 'message', data: event.data }),
          // eventsource-parser waits for a possible LF after a final CR; a last LF lets it finish the same lines.
        }).feed(`${body.toString()}\n`);

        // A chunked HTTP response carrying the body in pieces, then split again at random points.
        const pieces: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
        for (let i = 0; i < body.length; i += 7) {
          const part = body.subarray(i, i + 7);
          pieces.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n'));
        }
        pieces.push(Buffer.from('0\r\n\r\n'));
        const wire = Buffer.concat(pieces);
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);

        const seen: LoadEvent[] = [];
        const socket = new net.Socket();
        const connection = new LoadConnection(socket, { onEvent: (_c, event) => seen.push(event) }, () => undefined);
        let from = 0;
        for (const point of [...points, wire.length]) {
          if (point > from) socket.emit('data', wire.subarray(from, point));
          from = Math.max(from, point);
        }
        expect(connection.status).toBe(200);
        expect(connection.complete).toBe(true);
        expect(seen.map(({ type, data }) => ({ type, data }))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  // The bench reads only the start of each line; on the events the bench sends it must see what the full parser sees.
  it('lets the bench see the same events, numbers and comments as the full parser, however the bytes are split', () => {
    const event = fc.tuple(
      fc.nat(1_000_000),
      fc.nat(2 ** 48),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, ' ')),
      fc.boolean(),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 12 }), (events, cuts) => {
        let body = '';
        for (const [seq, sentAt, padding, quoted, heartbeat] of events) {
          if (heartbeat) body += ': ping\n\n';
          const data = `${seq} ${sentAt} ${padding}`;
          body += `id: ${seq}\ndata: ${quoted ? JSON.stringify(data) : data}\n\n`;
        }
        const bytes = Buffer.from(body);
        const wire = Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n'),
          Buffer.from(`${bytes.length.toString(16)}\r\n`),
          bytes,
          Buffer.from('\r\n0\r\n\r\n'),
        ]);
        const full: { seq: number; sentAt: number }[] = [];
        const socket = new net.Socket();
        const connection = new LoadConnection(
          socket,
          {
            onEvent: (_c, e) => {
              const [seq, sentAt] = e.data.replace(/^"/, '').split(' ');
              full.push({ seq: Number(seq), sentAt: Number(sentAt) });
            },
          },
          () => undefined,
        );
        socket.emit('data', wire);
        expect(connection.complete).toBe(true);

        const lean: { seq: number; sentAt: number }[] = [];
        let comments = 0;
        const response = new HttpResponseReader(
          new SsePrefixParser({
            event: (seq, sentAt) => lean.push({ seq, sentAt }),
            comment: () => {
              comments++;
            },
          }),
        );
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const point of [...points, wire.length]) {
          if (point > from) response.push(wire, from, point);
          from = Math.max(from, point);
        }
        expect(response.status).toBe(200);
        expect(response.complete).toBe(true);
        expect(lean).toEqual(full);
        expect(comments).toBe(events.filter((e) => e[4]).length);
      }),
      { numRuns: 300 },
    );
  });
});
