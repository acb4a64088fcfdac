import http from 'node:http';
import { connect } from '@ssekit/client';
import { sse } from '@ssekit/express';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { listen } from '../support/server.js';
import { closeAfterEach } from '../support/teardown.js';

// The OpenAI-compatible example of docs/streaming-responses.md, run: its route (copied as the page shows it, with a
// model that yields two tokens) speaks `data: {chunk}` … `data: [DONE]` to a reader of unnamed events, and reads the
// same through @ssekit/client.

const teardown = closeAfterEach();

interface Chunk {
  id: string;
  object: 'chat.completion.chunk';
  choices: { index: number; delta: { content?: string }; finish_reason: string | null }[];
}
type OpenAiEvents = { message: Chunk | '[DONE]' };

const model = {
  async *generate(_prompt: string, _options: { signal: AbortSignal }): AsyncIterable<string> {
    yield 'Hi';
    yield ' there';
  },
};

async function startExample(): Promise<string> {
  const app = express();
  app.post('/v1/chat/completions', express.json(), sse({ resumable: true }), async (req, res) => {
    await res.sse.resumable<OpenAiEvents>(async function* (signal) {
      const id = `chatcmpl-${Date.now()}`;
      for await (const content of model.generate(String(req.body.messages?.at(-1)?.content), { signal })) {
        yield {
          data: {
            id,
            object: 'chat.completion.chunk',
            choices: [{ index: 0, delta: { content }, finish_reason: null }],
          },
        };
      }
      yield {
        data: { id, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      };
      yield { data: '[DONE]' };
    });
  });
  const running = await listen(http.createServer(app));
  teardown.defer(() => running.close());
  return `${running.url}/v1/chat/completions`;
}

const body = JSON.stringify({ model: 'any', stream: true, messages: [{ role: 'user', content: 'Hello' }] });

describe('the OpenAI-compatible example of docs/streaming-responses.md', () => {
  it('sends unnamed JSON chunks, then data: [DONE], which a reader of unnamed events turns into the answer', async () => {
    const url = await startExample();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    }

    // What an OpenAI-style reader keeps: the unnamed events, up to [DONE].
    const unnamed = events.filter((event) => event.event === undefined).map((event) => event.data);
    expect(unnamed.at(-1)).toBe('[DONE]');
    const chunks = unnamed.slice(0, -1).map((data) => JSON.parse(data) as Chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hi there');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(new Set(chunks.map((chunk) => chunk.object))).toEqual(new Set(['chat.completion.chunk']));
    // ssekit's own events are named, first and last, each with an id like every entry.
    expect(events.map((event) => event.event ?? 'message')).toEqual([
      'ssekit-stream',
      'message',
      'message',
      'message',
      'message',
      'ssekit-done',
    ]);
    expect(events.map((event) => event.id)).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('reads the same stream with @ssekit/client, [DONE] as text and the chunks typed by the event map', async () => {
    const url = await startExample();
    const received: OpenAiEvents['message'][] = [];
    const client = connect<OpenAiEvents>(url, {
      body: new Blob([body], { type: 'application/json' }),
      retry: false,
    });
    teardown.defer(() => client.close());
    client.on('message', (data) => received.push(data));
    await client.done;
    expect(received.at(-1)).toBe('[DONE]');
    const text = received.map((data) => (data === '[DONE]' ? '' : (data.choices[0]?.delta.content ?? ''))).join('');
    expect(text).toBe('Hi there');
  });
});
