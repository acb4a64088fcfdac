import type {
  ClientOrTopic,
  ControlMessage,
  Envelope,
  InterestChange,
  ReplayFilter,
  ReplayResult,
  Target,
} from '@ssekit/core/broker';
import type { StreamEntry } from './codec.js';
import { Connection, type ConnectionHooks, type RawClient } from './connection.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { ResolvedRedisBrokerOptions } from './options.js';
import { partitionKeys, partitionOf } from './partition.js';
import { merge, readRange } from './partition-replay.js';
import { StreamReader } from './reader.js';
import { compareStreamIds } from './stream-id.js';

const ALL: Target = Object.freeze({ type: 'all' });

/** What the partitioned log needs from its broker: Redis connections, and where read entries go. */
export interface PartitionedLogHost {
  /** The connection that publishes and replays (a cluster client routes each command by its key). */
  readonly publisher: Connection;
  /** A factory of fresh clients for the blocking reader of the stream `key` (on the node that holds it). */
  readerClient(key: string): () => RawClient;
  hooks(role: string): ConnectionHooks;
  deliver(envelope: Envelope): void;
  control(message: ControlMessage): void;
}

/** One partition this instance reads: its own blocking connection and reader, and who needs it. */
interface PartitionReader {
  readonly connection: Connection;
  readonly reader: StreamReader;
  readonly loop: Promise<void>;
  /** Client ids and topics of local connections that map here (the broadcast partition reads for everyone). */
  readonly clientIds: Set<string>;
  readonly topics: Set<string>;
  /** The reader's position when it first reached Redis; nothing it delivered is older. */
  start: string | undefined;
  readonly started: Promise<boolean>;
  settle: (started: boolean) => void;
  linger: NodeJS.Timeout | undefined;
}

/**
 * The partitioned log: `count` streams for client ids and topics, one for broadcasts, each with the epoch and
 * chain of the single stream (the same publish script, reader and checks, per partition). An instance reads the
 * broadcast partition always, and the others while a local connection needs them (see `interest`).
 *
 * Every delivered envelope gets as id the cursor of this instance's positions in every partition it reads
 * (cursor.ts): one frame per event for all local connections, as with the single stream, and a `Last-Event-ID`
 * that a replay on any instance reads per partition. Order is kept per partition, so per client id, per topic and
 * for broadcasts; events of different partitions arrive in the order this instance read them.
 */
export class PartitionedLog {
  private readonly readers = new Map<number, PartitionReader>();
  /** This instance's position in each partition, as of the last envelope handed to the hub. */
  private readonly positions = new Map<number, string>();
  // While a partition's reader looks for its start, envelopes of the others wait: an id handed out meanwhile
  // would lack that partition, and a cursor must cover every partition its connection reads.
  private starting = 0;
  private readonly waiting: { p: number; envelope: Envelope }[] = [];
  private closed = false;

  constructor(
    private readonly options: ResolvedRedisBrokerOptions,
    private readonly host: PartitionedLogHost,
    private readonly signal: AbortSignal,
  ) {}

  /** The number of client/topic partitions; partition `count` holds broadcasts. */
  get count(): number {
    return this.options.partitions;
  }

  /**
   * Starts reading broadcasts. `started` is called once that reader knows where its stream ends (no argument), or
   * with the error of each early attempt that failed, as the single stream's reader does.
   */
  start(started: (error?: unknown) => void): void {
    this.open(this.count, undefined, started);
  }

  /** True when every reader has reached Redis. */
  get connected(): boolean {
    for (const partition of this.readers.values()) {
      if (!partition.connection.isReady || partition.reader.cursor === undefined) return false;
    }
    return this.readers.size > 0;
  }

  /** The partitions being read (for tests and figures). */
  readPartitions(): number[] {
    return [...this.readers.keys()].sort((a, b) => a - b);
  }

  /** What `publish` resolves with: the cursor of the event's position in its own partition. */
  idOf(target: Target, id: string): string {
    return encodeCursor(this.count, new Map([[partitionOf(target, this.count), id]]));
  }

  /** The partition of `target` (`count` for broadcasts). */
  partitionOf(target: Target): number {
    return partitionOf(target, this.count);
  }

  /** True once the broadcast reader started (before, a broadcast published here would not reach this hub). */
  broadcastStarted(): boolean {
    return this.readers.get(this.count)?.reader.cursor !== undefined;
  }

  interest(change: InterestChange, target: ClientOrTopic): void {
    if (this.closed) return;
    const p = partitionOf(target, this.count);
    let partition = this.readers.get(p);
    if (change === 'add') {
      partition ??= this.open(p, Date.now());
      if (target.type === 'client') partition.clientIds.add(target.clientId);
      else partition.topics.add(target.topic);
      if (partition.linger !== undefined) {
        clearTimeout(partition.linger);
        partition.linger = undefined;
      }
      return;
    }
    if (partition === undefined) return;
    const removed =
      target.type === 'client' ? partition.clientIds.delete(target.clientId) : partition.topics.delete(target.topic);
    if (!removed || partition.clientIds.size > 0 || partition.topics.size > 0) return;
    partition.linger = setTimeout(() => {
      partition.linger = undefined;
      if (partition.clientIds.size === 0 && partition.topics.size === 0) void this.stopReading(p, partition);
    }, this.options.readerLinger);
    partition.linger.unref();
  }

  /**
   * The events after `lastEventId` (a cursor of this log) that match `filter`, per partition from the cursor's
   * position up to this instance's (taken now, before any await: the hub holds live events from here on, and those
   * are exactly the newer ones), merged by stream id then partition, each with the cursor of the positions so far.
   */
  async replay(lastEventId: string, filter: ReplayFilter): Promise<ReplayResult> {
    const snapshot = new Map(this.positions);
    const head = (): string | undefined => (snapshot.size === 0 ? undefined : encodeCursor(this.count, snapshot));
    const needed = new Set<number>([this.count]);
    if (filter.clientId !== undefined)
      needed.add(partitionOf({ type: 'client', clientId: filter.clientId }, this.count));
    for (const topic of filter.topics) needed.add(partitionOf({ type: 'topic', topic }, this.count));
    // Partitions this instance started reading for this very connection: their start is their position now.
    for (const p of needed) {
      if (snapshot.has(p)) continue;
      const partition = this.readers.get(p);
      if (partition === undefined || !(await within(partition.started, this.options.commandTimeout))) {
        return { ok: false, reason: 'unavailable' };
      }
      snapshot.set(p, partition.start as string);
    }
    const cursor = decodeCursor(lastEventId, this.count);
    if (cursor === undefined) return { ok: false, reason: 'unknown-id', head: head() };
    const lists: { p: number; entries: StreamEntry[] }[] = [];
    for (const p of needed) {
      const from = cursor.get(p);
      // A partition the cursor does not cover: the connection did not read it then (a topic it did not follow).
      if (from === undefined) return { ok: false, reason: 'unknown-id', head: head() };
      const to = snapshot.get(p) as string;
      const reader = this.readers.get(p)?.reader;
      if (reader === undefined) return { ok: false, reason: 'unavailable' };
      if (from !== '' && reader.isAmbiguous(from)) return { ok: false, reason: 'unknown-id', head: head() };
      // This instance is behind the client in that partition: its live events would repeat what the client has.
      if (compareStreamIds(to, from) < 0) return { ok: false, reason: 'unavailable' };
      const key = partitionKeys(this.options.key, p, this.count).stream;
      const read = await readRange(this.host.publisher, key, from, to, filter, this.options.batchSize);
      if (!read.ok) return { ok: false, reason: read.reason, head: head() };
      lists.push({ p, entries: read.entries });
    }
    const current = new Map(snapshot);
    for (const p of needed) current.set(p, cursor.get(p) as string);
    const events: Envelope[] = [];
    for (const { p, entry } of merge(lists)) {
      current.set(p, entry.id);
      const envelope = entry.envelope as Envelope;
      events.push({ ...envelope, id: encodeCursor(this.count, current) });
    }
    return { ok: true, events };
  }

  /** Stops every reader at once (their blocking reads are cut) and closes their connections. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping = [...this.readers].map(([p, partition]) => this.stopReading(p, partition));
    await Promise.all(stopping);
  }

  private open(p: number, since: number | undefined, onStarted?: (error?: unknown) => void): PartitionReader {
    const keys = partitionKeys(this.options.key, p, this.count);
    const connection = new Connection(
      this.host.readerClient(keys.stream),
      `reader of ${keys.stream}`,
      this.options.commandTimeout,
      this.options.blockTimeout,
      this.host.hooks(`reader of ${keys.stream}`),
    );
    let settle: (started: boolean) => void = noop;
    const started = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    let gated = true;
    this.starting++;
    const ungate = (): void => {
      if (!gated) return;
      gated = false;
      this.starting--;
      this.flush();
    };
    const partition: PartitionReader = {
      connection,
      clientIds: new Set(),
      topics: new Set(),
      start: undefined,
      started,
      settle,
      linger: undefined,
      loop: Promise.resolve(),
      reader: new StreamReader(
        connection,
        this.options,
        keys.epoch,
        {
          deliver: (envelope) => this.fromPartition(p, envelope),
          control: (message) => this.host.control(message),
          // A loss in one partition concerns the connections that read it, not every local one.
          resetTarget: () =>
            p === this.count
              ? ALL
              : { type: 'any', clientIds: [...partition.clientIds], topics: [...partition.topics] },
          started: (error) => {
            if (error === undefined && partition.start === undefined) {
              partition.start = partition.reader.cursor ?? '';
              this.positions.set(p, partition.start);
              partition.settle(true);
            }
            ungate();
            onStarted?.(error);
          },
        },
        this.signal,
        keys.stream,
        since,
      ),
    };
    this.readers.set(p, partition);
    connection.start().catch(noop);
    (partition as { loop: Promise<void> }).loop = partition.reader.run().catch((error) => {
      this.options.logger.error(`[ssekit] the Redis reader of ${keys.stream} stopped unexpectedly.`, error);
    });
    return partition;
  }

  private async stopReading(p: number, partition: PartitionReader): Promise<void> {
    if (this.readers.get(p) !== partition) return;
    this.readers.delete(p);
    this.positions.delete(p);
    if (partition.linger !== undefined) clearTimeout(partition.linger);
    partition.reader.stop();
    partition.settle(false);
    if (partition.start === undefined) {
      // Never started: it no longer holds the others back.
      partition.start = '';
      this.starting--;
      this.flush();
    }
    await partition.connection.close();
    await partition.loop;
  }

  private fromPartition(p: number, envelope: Envelope): void {
    if (this.starting > 0) {
      this.waiting.push({ p, envelope });
      return;
    }
    this.handOver(p, envelope);
  }

  private flush(): void {
    if (this.starting > 0) return;
    for (const { p, envelope } of this.waiting.splice(0)) this.handOver(p, envelope);
  }

  private handOver(p: number, envelope: Envelope): void {
    if (!this.readers.has(p)) return;
    this.positions.set(p, envelope.id);
    this.host.deliver({ ...envelope, id: encodeCursor(this.count, this.positions) });
  }
}

/** Resolves with `promise`'s outcome, or false after `ms`. */
function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

function noop(): void {}
