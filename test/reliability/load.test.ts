import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildRpc, eventually, reachableFileLimit, startChild } from '../support/child.js';
import { mib, report } from '../support/report.js';
import { requirePart } from '../support/requirements.js';
import type {
  BroadcastResult,
  CollectResult,
  CyclesResult,
  OpenResult,
  ServerMemory,
  ServerStatus,
} from './fixtures/types.js';

/**
 * 10,000 concurrent SSE connections on one server process, a broadcast at 50 events/s for 30 s, every client
 * leaving, then 50,000 open/close cycles. The server and the load client are separate processes with their own file
 * limit; this test only drives them.
 *
 * In the suite the two children run niced (`nice -n 10`) so that test files running in parallel keep their share of
 * the CPU; their latency figures then describe a contended machine. `SSEKIT_LOAD_NICE=0` runs them at normal
 * priority (the figures in docs/reliability.md); `SSEKIT_LOAD_WINDOW_MS` shortens the broadcast for quick local runs.
 */
const NICE = process.env.SSEKIT_LOAD_NICE === '0' ? undefined : 10;
const CONNECTIONS = 10_000;
const RATE = 50;
const WINDOW_MS = Number(process.env.SSEKIT_LOAD_WINDOW_MS ?? 30_000);
const CYCLES = 50_000;
const FILES_NEEDED = CONNECTIONS + 500;

const files = reachableFileLimit(FILES_NEEDED);
const { skip } = requirePart(
  `an open-file limit of ${FILES_NEEDED}`,
  files >= FILES_NEEDED,
  `the hard limit here is ${files}. Raise it (e.g. \`ulimit -Hn 65536\` as root, LimitNOFILE= in systemd, --ulimit nofile=65536 in Docker).`,
);

describe.skipIf(skip)(`${CONNECTIONS.toLocaleString('en')} concurrent connections on one process`, () => {
  let server: ChildRpc;
  let client: ChildRpc;
  let port: number;
  let baseline: ServerMemory;
  let cold: ServerMemory;
  /** The last sequence number of the measured broadcast, which the resume scenario continues. */
  let broadcastSeq = 0;

  const status = () => server.call<ServerStatus>('status');
  const memory = () => server.call<ServerMemory>('memory');

  beforeAll(async () => {
    const options = { fileLimit: files, nice: NICE };
    server = await startChild(new URL('./fixtures/load-server.ts', import.meta.url), { ...options, exposeGc: true });
    client = await startChild(new URL('./fixtures/load-client.ts', import.meta.url), options);
    ({ port } = await server.call<{ port: number }>('listen', { heartbeat: 15_000, historySize: 1000 }));
    cold = await memory();
    // Warm-up, so that the baseline includes what a server that has served traffic always holds: optimised code for
    // the broadcast path, Node's pool of HTTP parsers (up to 1,000), and a full (bounded) history.
    await client.call('open', { port, count: 1000, group: 'warm-up' });
    await server.call('broadcast', { rate: RATE, duration: 2000 });
    await server.call('fill', { count: 1000 });
    await client.call('leave', { group: 'warm-up' });
    await client.call('cycles', { port, count: 1000, concurrency: 100 });
    await eventually(status, (s) => s.size === 0, 'the warm-up connections to close');
    baseline = await memory();
  }, 120_000);

  afterAll(async () => {
    await client?.stop();
    await server?.stop();
  });

  it('accepts 10,000 connections, each answered 200 with an open stream', async () => {
    const opened = await client.call<OpenResult>('open', { port, count: CONNECTIONS }, 180_000);
    expect(opened.statuses).toEqual({ 200: CONNECTIONS });
    const held = await eventually(memory, (m) => m.size === CONNECTIONS, `${CONNECTIONS} connections on the hub`);
    expect(held.clock).toBe(CONNECTIONS);
    report('load: 10,000 connections open', {
      openMs: Math.round(opened.openMs),
      heapMiB: mib(held.heapUsed),
      baselineHeapMiB: mib(baseline.heapUsed),
      heapPerConnectionKiB: Math.round((held.heapUsed - baseline.heapUsed) / CONNECTIONS / 102.4) / 10,
      rssMiB: mib(held.rss),
      rssPerConnectionKiB: Math.round((held.rss - baseline.rss) / CONNECTIONS / 102.4) / 10,
    });
  }, 240_000);

  it(
    `delivers a broadcast at ${RATE} events/s for ${WINDOW_MS / 1000} s to every connection, in order, with zero loss`,
    async () => {
      await client.call('reset');
      const droppedBefore = (await status()).stats.dropped;
      const sent = await server.call<BroadcastResult>(
        'broadcast',
        { rate: RATE, duration: WINDOW_MS },
        WINDOW_MS + 120_000,
      );
      const got = await client.call<CollectResult>('collect', { lastSeq: sent.sent, timeout: 120_000 }, 180_000);
      expect(sent.sent).toBe(Math.round((WINDOW_MS / 1000) * RATE));
      broadcastSeq = sent.sent;
      expect({ complete: got.complete, missing: got.missing, gaps: got.gaps, duplicates: got.duplicates }).toEqual({
        complete: CONNECTIONS,
        missing: 0,
        gaps: 0,
        duplicates: 0,
      });
      expect(got.ended).toBe(0);
      expect(got.latency.count).toBe(CONNECTIONS * sent.sent);
      // No event was left unwritten for any connection (the warm-up's leavers account for the earlier drops).
      expect(sent.stats.dropped).toBe(droppedBefore);
      report(`load: broadcast ${RATE}/s for ${WINDOW_MS / 1000} s to ${CONNECTIONS}`, {
        events: sent.sent,
        deliveries: got.latency.count,
        lost: got.missing + got.gaps,
        latencyMs: got.latency,
        serverCpuMs: Math.round(sent.cpuMs),
        clientCpuMs: Math.round(got.cpuMs),
        serverEventLoopDelayMs: sent.eventLoopDelay,
        peakRssMiB: mib(sent.peakRss),
        niced: NICE !== undefined,
      });
    },
    WINDOW_MS + 300_000,
  );

  it('when all 10,000 drop off at once and come back with Last-Event-ID, each gets what it missed, then live events', async () => {
    const before = await status();
    const lastSeq = broadcastSeq;
    await client.call('drop');
    await eventually(status, (s) => s.size === 0, 'every dropped connection to be noticed', 60_000);
    // Published while every client is away: 100 events each client must get on resume.
    const missed = await server.call<BroadcastResult>('broadcast', {
      rate: RATE,
      duration: 2000,
      firstSeq: lastSeq + 1,
    });
    const back = await client.call<OpenResult>('reconnect', { port, concurrency: 200 }, 180_000);
    expect(back.statuses).toEqual({ 200: CONNECTIONS });
    const live = await server.call<BroadcastResult>('broadcast', {
      rate: RATE,
      duration: 1000,
      firstSeq: lastSeq + missed.sent + 1,
    });
    const last = lastSeq + missed.sent + live.sent;
    const got = await client.call<CollectResult>('collect', { lastSeq: last, timeout: 120_000 }, 180_000);
    expect({ complete: got.complete, missing: got.missing, gaps: got.gaps, duplicates: got.duplicates }).toEqual({
      complete: CONNECTIONS,
      missing: 0,
      gaps: 0,
      duplicates: 0,
    });
    const after = await status();
    expect(after.stats.replayed - before.stats.replayed).toBe(CONNECTIONS * missed.sent);
    expect(after.stats.resets).toBe(before.stats.resets);
    expect(after.closed.client).toBe((before.closed.client ?? 0) + CONNECTIONS);
    report('load: 10,000 resume at once with Last-Event-ID', {
      missedPerClient: missed.sent,
      reconnectMs: Math.round(back.openMs),
      replayed: after.stats.replayed - before.stats.replayed,
      lost: got.missing + got.gaps,
      duplicates: got.duplicates,
    });
  }, 400_000);

  it('when every client leaves, the hub is empty and no timer, socket or listener is left', async () => {
    await client.call('leave');
    const after = await eventually(
      memory,
      (m) => m.size === 0 && m.handles === baseline.handles,
      'every connection to be released',
      60_000,
    );
    expect(after.size).toBe(0);
    expect(after.clock).toBe(0);
    expect(after.flusherBacklog).toBe(0);
    expect(after.resources).toEqual(baseline.resources);
    expect(after.handles).toBe(baseline.handles);
    expect(after.hubListeners).toBe(baseline.hubListeners);
    expect(after.serverListeners).toBe(baseline.serverListeners);
    expect(after.closed).toEqual({ client: (baseline.closed.client ?? 0) + 2 * CONNECTIONS });
    expect(after.errors).toEqual([]);
    expect(after.unexpected).toEqual([]);
    // The heap is asserted after the open/close cycles below, as the issue states it. Right after 10,000 clients
    // left it is reported, not asserted: it measured 4-9% above the baseline, and 3-5% once the cycles had run.
    report('load: after every client left', {
      heapMiB: mib(after.heapUsed),
      baselineHeapMiB: mib(baseline.heapUsed),
      heapVsBaseline: `${(((after.heapUsed - baseline.heapUsed) / baseline.heapUsed) * 100).toFixed(1)}%`,
      rssMiB: mib(after.rss),
      activeResources: after.resources,
    });
  }, 120_000);

  it(`after ${CYCLES.toLocaleString('en')} open/close cycles the heap is back within 10% of where it started`, async () => {
    const cycles = await client.call<CyclesResult>('cycles', { port, count: CYCLES, concurrency: 100 }, 400_000);
    expect(cycles.statuses).toEqual({ 200: CYCLES });
    expect(cycles.unexpected).toEqual([]);
    const after = await eventually(
      memory,
      (m) => m.size === 0 && m.handles === baseline.handles,
      'every connection to be released',
      60_000,
    );
    expect(after.clock).toBe(0);
    expect(after.resources).toEqual(baseline.resources);
    expect(after.unexpected).toEqual([]);
    expect(after.heapUsed).toBeLessThanOrEqual(baseline.heapUsed * 1.1);
    report(`load: after ${CYCLES} open/close cycles`, {
      cyclesMs: Math.round(cycles.cyclesMs),
      cyclesPerSecond: Math.round(CYCLES / (cycles.cyclesMs / 1000)),
      heapMiB: mib(after.heapUsed),
      baselineHeapMiB: mib(baseline.heapUsed),
      coldHeapMiB: mib(cold.heapUsed),
      heapVsBaseline: `${(((after.heapUsed - baseline.heapUsed) / baseline.heapUsed) * 100).toFixed(1)}%`,
      rssMiB: mib(after.rss),
    });
  }, 480_000);
});
