/**
 * Broadcast cost with metrics on and off: `pnpm exec tsx scripts/metrics-overhead.ts [connections] [events]`.
 *
 * One process: a `node:http` server whose hub streams to `connections` loopback clients, which count the events they
 * read. Each run broadcasts `events` small events in bursts of 100 (one burst per turn of the event loop) and
 * measures the wall time and the process CPU time until every client read every event. Runs alternate off/on so
 * that drift on a shared machine hits both; the medians are printed. With metrics on, the hub records to an SDK
 * MeterProvider whose reader collects every 100 ms, far more often than any scrape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createHub, createStream } from '@ssekit/core';

const CONNECTIONS = Number(process.argv[2] ?? 500);
const EVENTS = Number(process.argv[3] ?? 2000);
const ROUNDS = 7;

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

async function run(metrics: boolean): Promise<{ wall: number; cpu: number }> {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  const hub = metrics
    ? createHub({ meterProvider: provider, history: false })
    : createHub({ metrics: false, history: false });
  const collecting = metrics ? setInterval(() => void reader.collect(), 100) : undefined;
  const server = http.createServer((req, res) => void hub.attach(createStream(req, res, { heartbeat: false })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const counts: number[] = new Array(CONNECTIONS).fill(0);
  const requests: http.ClientRequest[] = [];
  await Promise.all(
    counts.map(
      (_, i) =>
        new Promise<void>((resolve) => {
          const req = http.get({ port, host: '127.0.0.1', agent }, (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              counts[i] = (counts[i] ?? 0) + (chunk.match(/\n\n/g)?.length ?? 0);
            });
            resolve();
          });
          requests.push(req);
        }),
    ),
  );
  while (hub.size < CONNECTIONS) await new Promise((resolve) => setTimeout(resolve, 5));

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let sent = 0; sent < EVENTS; sent += 100) {
    for (let n = 0; n < 100; n++) void hub.broadcast({ n: sent + n, at: Date.now() });
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (counts.some((count) => count < EVENTS)) await new Promise((resolve) => setImmediate(resolve));
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu0);

  clearInterval(collecting);
  for (const req of requests) req.destroy();
  await hub.close();
  await new Promise((resolve) => server.close(resolve));
  await provider.shutdown();
  return { wall, cpu: (used.user + used.system) / 1000 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const off: { wall: number; cpu: number }[] = [];
const on: { wall: number; cpu: number }[] = [];
await run(false); // warm-up
await run(true);
for (let round = 0; round < ROUNDS; round++) {
  off.push(await run(false));
  on.push(await run(true));
}
for (const [name, runs] of [
  ['metrics off', off],
  ['metrics on ', on],
] as const) {
  const wall = runs.map((r) => r.wall);
  const cpu = runs.map((r) => r.cpu);
  console.log(
    `${name}: wall median ${median(wall).toFixed(1)} ms (min ${Math.min(...wall).toFixed(1)}, max ${Math.max(...wall).toFixed(1)}), ` +
      `CPU median ${median(cpu).toFixed(1)} ms — ${CONNECTIONS} connections × ${EVENTS} events, ${ROUNDS} rounds`,
  );
}
