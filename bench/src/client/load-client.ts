/**
 * The load client process: opens SSE connections on raw sockets, checks that every connection receives every event
 * of a round exactly once and in order, and measures publish-to-receive latency. Driven by the runner over IPC
 * (see {@link ClientCommand}); any violation is reported at once as an `error` message, and the runner fails the run.
 */
import { connect, type Socket } from 'node:net';
import { nowUs } from '../servers/contract.js';
import { bucketOf, createHistogram } from './histogram.js';
import { HttpResponseReader } from './http-response.js';
import { SsePrefixParser } from './sse-prefix-parser.js';

/** What the runner asks. */
export type ClientCommand =
  | { op: 'open'; port: number; count: number }
  | { op: 'expect'; first: number; n: number }
  /** The server published only `n` of the round's events (a fixed-rate round it could not keep up with). */
  | { op: 'truncate'; n: number }
  | { op: 'status' }
  | { op: 'comments' }
  | { op: 'close' };

/** One round's figures from this client. */
export interface RoundReport {
  delivered: number;
  /** Earliest send timestamp of the round's first event, µs. */
  firstSentUs: number;
  /** When the last event of the round arrived, µs. */
  lastReceivedUs: number;
  /** Latency histogram (see histogram.ts). */
  histogram: number[];
  /** CPU this process used from `expect` to the last event, µs. */
  cpuUs: number;
  /** Wall time from `expect` to the last event, µs. */
  wallUs: number;
}

/** What the client answers. */
export type ClientMessage =
  | { op: 'opened'; count: number; ms: number }
  | { op: 'expecting' }
  | { op: 'done'; report: RoundReport }
  | { op: 'status'; delivered: number; expected: number; connectionsBehind: number; open: number }
  | { op: 'comments'; count: number; cpuUs: number }
  | { op: 'error'; message: string };

/** Connections being opened at once: the server's accept backlog is finite. */
const OPEN_CONCURRENCY = 200;
/** Longest wait for one connection's response head. */
const OPEN_TIMEOUT_MS = 120_000;

interface Connection {
  index: number;
  socket: Socket;
  response: HttpResponseReader;
  next: number;
  received: number;
}

interface Round {
  first: number;
  n: number;
  completed: number;
  delivered: number;
  firstSentUs: number;
  lastReceivedUs: number;
  histogram: Uint32Array;
  cpuStart: number;
  wallStartUs: number;
}

const connections: Connection[] = [];
let round: Round | undefined;
let comments = 0;
let closing = false;
let failed = false;
// Time of the socket read being processed: every event in one read arrived at once.
let readAtUs = 0;
// One read buffer for every socket: a read is processed synchronously before the next one starts.
const readBuffer = Buffer.allocUnsafe(64 * 1024);

function send(message: ClientMessage): void {
  process.send?.(message);
}

function fail(message: string): void {
  if (failed) return;
  failed = true;
  send({ op: 'error', message });
}

function cpuUs(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

function onEvent(connection: Connection, seq: number, sentAtUs: number): void {
  const r = round;
  if (r === undefined) {
    fail(`connection ${connection.index} received event ${seq} outside a round`);
    return;
  }
  if (seq !== connection.next) {
    fail(
      seq === -1
        ? `connection ${connection.index}: an event whose data is not "<seq> <timestamp> …"`
        : `connection ${connection.index}: expected event ${connection.next}, got ${seq} (${seq < connection.next ? 'duplicate or reordered' : `${seq - connection.next} lost`})`,
    );
    return;
  }
  connection.next++;
  r.delivered++;
  const index = bucketOf(readAtUs - sentAtUs);
  r.histogram[index] = (r.histogram[index] as number) + 1;
  if (seq === r.first && sentAtUs < r.firstSentUs) r.firstSentUs = sentAtUs;
  if (readAtUs > r.lastReceivedUs) r.lastReceivedUs = readAtUs;
  if (++connection.received === r.n && ++r.completed === connections.length) finish(r);
}

function finish(r: Round): void {
  round = undefined;
  send({
    op: 'done',
    report: {
      delivered: r.delivered,
      firstSentUs: r.firstSentUs,
      lastReceivedUs: r.lastReceivedUs,
      histogram: Array.from(r.histogram),
      cpuUs: cpuUs() - r.cpuStart,
      wallUs: nowUs() - r.wallStartUs,
    },
  });
}

/** Every server under test must answer 200 with an event stream; anything else fails the run. */
function checkHead(response: HttpResponseReader): void {
  if (response.status !== 200) throw new Error(`status ${response.status} instead of 200`);
  const type = response.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('text/event-stream'))
    throw new Error(`Content-Type is ${JSON.stringify(type)}, not text/event-stream`);
}

function openOne(port: number, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const connection = { index, next: 0, received: 0 } as Connection;
    const timer = setTimeout(
      () => settle(new Error(`connection ${index}: no response head after ${OPEN_TIMEOUT_MS} ms`)),
      OPEN_TIMEOUT_MS,
    );
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    connection.response = new HttpResponseReader(
      new SsePrefixParser({
        event: (seq, sentAtUs) => onEvent(connection, seq, sentAtUs),
        comment: () => {
          comments++;
        },
      }),
      checkHead,
    );
    const socket = connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: readBuffer,
        callback: (bytes) => {
          readAtUs = nowUs();
          const response = connection.response;
          try {
            response.push(readBuffer, 0, bytes);
          } catch (error) {
            fail(`connection ${index}: ${(error as Error).message}`);
            settle(error as Error);
            return true;
          }
          if (response.open) settle();
          if (response.complete) fail(`connection ${index}: the server ended the response`);
          return true;
        },
      },
    });
    connection.socket = socket;
    socket.on('connect', () => {
      socket.write(
        'GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n',
      );
    });
    socket.on('error', (error) => {
      if (!closing) fail(`connection ${index}: ${error.message}`);
      settle(error);
    });
    socket.on('close', () => {
      if (!closing) fail(`connection ${index} was closed by the server`);
      settle(new Error(`connection ${index} closed`));
    });
    connections.push(connection);
  });
}

async function open(port: number, count: number): Promise<void> {
  const started = Date.now();
  let nextIndex = connections.length;
  const last = nextIndex + count;
  const worker = async (): Promise<void> => {
    while (nextIndex < last) await openOne(port, nextIndex++);
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  send({ op: 'opened', count: connections.length, ms: Date.now() - started });
}

function expect(first: number, n: number): void {
  for (const connection of connections) {
    if (connection.next !== 0 && connection.next !== first) {
      fail(
        `connection ${connection.index}: the previous round ended at ${connection.next}, this one starts at ${first}`,
      );
      return;
    }
    connection.next = first;
    connection.received = 0;
  }
  round = {
    first,
    n,
    completed: 0,
    delivered: 0,
    firstSentUs: Number.POSITIVE_INFINITY,
    lastReceivedUs: 0,
    histogram: createHistogram(),
    cpuStart: cpuUs(),
    wallStartUs: nowUs(),
  };
  send({ op: 'expecting' });
}

function truncate(n: number): void {
  const r = round;
  if (r === undefined) return;
  if (n > r.n) {
    fail(`the server published ${n} events in a round of ${r.n}`);
    return;
  }
  r.n = n;
  r.completed = 0;
  for (const connection of connections) {
    if (connection.received > n) {
      fail(`connection ${connection.index} received ${connection.received} events of a round of ${n}`);
      return;
    }
    if (connection.received === n) r.completed++;
  }
  if (r.completed === connections.length) finish(r);
}

function status(): void {
  const r = round;
  let behind = 0;
  for (const connection of connections) if (r !== undefined && connection.received < r.n) behind++;
  send({
    op: 'status',
    delivered: r?.delivered ?? 0,
    expected: r === undefined ? 0 : r.n * connections.length,
    connectionsBehind: behind,
    open: connections.filter((c) => !c.socket.destroyed).length,
  });
}

process.on('message', (command: ClientCommand) => {
  switch (command.op) {
    case 'open':
      open(command.port, command.count).catch((error: Error) => fail(`opening connections: ${error.message}`));
      break;
    case 'expect':
      expect(command.first, command.n);
      break;
    case 'truncate':
      truncate(command.n);
      break;
    case 'status':
      status();
      break;
    case 'comments':
      send({ op: 'comments', count: comments, cpuUs: cpuUs() });
      break;
    case 'close':
      closing = true;
      for (const connection of connections) connection.socket.destroy();
      process.exit(0);
  }
});

process.on('disconnect', () => process.exit(0));
