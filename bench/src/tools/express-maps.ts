/**
 * Why writing to an Express 5 response costs more than writing to a plain node:http one: Express's `app.handle` sets
 * each response's prototype (`Object.setPrototypeOf(res, app.response)`) and then adds `res.locals`, and in V8 a
 * property added after `setPrototypeOf` gives the object a hidden class (map) of its own. With one map per response,
 * every property read in the write path (ssekit's liveness check, node's `OutgoingMessage#write`) is megamorphic.
 *
 * Opens `count` SSE connections to ssekit on Express and to ssekit on plain node:http, in this process, and prints how
 * many distinct maps the responses have and what one liveness-and-flush check costs over all of them, then the same
 * for bare responses with and without the prototype change.
 *
 * Usage (V8 natives are needed to compare maps):
 * `pnpm --filter @ssekit/bench exec node --allow-natives-syntax --import tsx src/tools/express-maps.ts [count]`
 */
import { createServer, IncomingMessage, request, type Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { createHub, createStream } from '@ssekit/core';
import { sse } from '@ssekit/express';
import express from 'express';

const count = Number(process.argv[2] ?? 300);
if (!Number.isSafeInteger(count) || count < 2 || count > 5000) throw new Error('count must be a whole number 2..5000');

let sameMap: (a: object, b: object) => boolean;
try {
  sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as typeof sameMap;
} catch {
  console.error('run with node --allow-natives-syntax (see the usage at the top of this file)');
  process.exit(2);
}

function distinctMaps(objects: object[]): number {
  const representatives: object[] = [];
  for (const o of objects) if (!representatives.some((r) => sameMap(r, o))) representatives.push(o);
  return representatives.length;
}

/** The reads ssekit's write path makes on a response per write (liveness, HTTP/2 stream, compression's flush). */
function checkNs(responses: ServerResponse[]): number {
  let hits = 0;
  const rounds = Math.ceil(600_000 / responses.length);
  const run = (): void => {
    for (let k = 0; k < rounds; k++) {
      for (const r of responses as (ServerResponse & { stream?: unknown; flush?: unknown })[]) {
        if (r.writableEnded || r.destroyed === true) hits++;
        if (r.stream !== undefined) hits++;
        if (typeof r.flush === 'function') hits++;
      }
    }
  };
  run();
  const started = process.hrtime.bigint();
  run();
  const ns = Number(process.hrtime.bigint() - started) / (rounds * responses.length);
  return hits < 0 ? Number.NaN : ns;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function open(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/sse', headers: { accept: 'text/event-stream' } }, (res) => {
      res.on('data', () => {});
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

const viaExpress: ServerResponse[] = [];
const app = express();
app.get('/sse', sse(), (_req, res) => {
  viaExpress.push(res);
});
const hub = createHub();
const viaNode: ServerResponse[] = [];
const plain = createServer((req, res) => {
  void hub.attach(createStream(req, res));
  viaNode.push(res);
});
const expressServer = createServer(app);
const expressPort = await listen(expressServer);
const plainPort = await listen(plain);
for (let i = 0; i < count; i++) await open(expressPort);
for (let i = 0; i < count; i++) await open(plainPort);

const bare = (): ServerResponse => new ServerResponse(new IncomingMessage(new Socket()));
const reshaped = Array.from({ length: count }, () => {
  const res = bare();
  Object.setPrototypeOf(res, app.response);
  return res;
});
const reshapedThenAdded = Array.from({ length: count }, () => {
  const res = bare() as ServerResponse & { locals?: object };
  Object.setPrototypeOf(res, app.response);
  res.locals = Object.create(null);
  return res;
});

const row = (what: string, responses: ServerResponse[]): void =>
  console.log(
    `${what.padEnd(62)} ${String(distinctMaps(responses)).padStart(5)} maps  ${checkNs(responses).toFixed(0).padStart(5)} ns per check`,
  );
console.log(`${count} responses each:`);
row('ssekit + Express (app.get(path, sse(), handler))', viaExpress);
row('ssekit on node:http (createStream)', viaNode);
row('bare ServerResponse, setPrototypeOf(res, app.response)', reshaped);
row('bare ServerResponse, setPrototypeOf, then res.locals = {} (Express)', reshapedThenAdded);
process.exit(0);
