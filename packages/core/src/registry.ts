import type { ClientOrTopic, InterestChange, Target } from './broker-contract.js';
import type { SseStream } from './stream.js';

/**
 * The open streams of one hub, by client id and by topic. A client id or topic is kept only while it has a stream:
 * the maps never grow with clients that left or topics nobody reads any more.
 */
export class Registry {
  /** Every registered stream. */
  readonly all = new Set<SseStream>();
  /**
   * Readers of resumable streams: connections like the others for stats, metrics and connection limits, but never
   * reached by `send`, `publish` or `broadcast` (their events come from their stream's log only).
   */
  readonly readers = new Set<SseStream>();
  private readonly readersByClient = new Map<string, number>();
  private readonly byClient = new Map<string, Set<SseStream>>();
  private readonly byTopic = new Map<string, Set<SseStream>>();

  /** `interest` hears when a client id or topic gains its first stream or loses its last (see Broker.interest). */
  constructor(private readonly interest?: (change: InterestChange, target: ClientOrTopic) => void) {}

  /** Open connections: registered streams and resumable readers. */
  get connectionCount(): number {
    return this.all.size + this.readers.size;
  }

  /** Open connections of one client id, resumable readers included. */
  connectionsOf(clientId: string): number {
    return (this.byClient.get(clientId)?.size ?? 0) + (this.readersByClient.get(clientId) ?? 0);
  }

  /** Counts a resumable reader until {@link removeReader}. */
  addReader(stream: SseStream): void {
    if (this.readers.has(stream)) return;
    this.readers.add(stream);
    const clientId = stream.clientId;
    if (clientId !== undefined) this.readersByClient.set(clientId, (this.readersByClient.get(clientId) ?? 0) + 1);
  }

  removeReader(stream: SseStream): void {
    if (!this.readers.delete(stream)) return;
    const clientId = stream.clientId;
    if (clientId === undefined) return;
    const left = (this.readersByClient.get(clientId) ?? 1) - 1;
    if (left > 0) this.readersByClient.set(clientId, left);
    else this.readersByClient.delete(clientId);
  }

  /** Client ids with at least one stream. */
  get clientCount(): number {
    return this.byClient.size;
  }

  /** Topics with at least one subscriber. */
  get topicCount(): number {
    return this.byTopic.size;
  }

  clientIds(): string[] {
    return [...this.byClient.keys()];
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** The streams of one client id; `undefined` when it has none. */
  ofClient(clientId: string): ReadonlySet<SseStream> | undefined {
    return this.byClient.get(clientId);
  }

  /** The streams an event for `target` reaches; `undefined` when no client id or topic matches. */
  lookup(target: Target): ReadonlySet<SseStream> | undefined {
    switch (target.type) {
      case 'all':
        return this.all;
      case 'client':
        return this.byClient.get(target.clientId);
      case 'topic':
        return this.byTopic.get(target.topic);
      case 'any':
        return this.union(target.clientIds, target.topics);
    }
  }

  /** The streams with any of `clientIds` or `topics`, each once. */
  private union(clientIds: readonly string[], topics: readonly string[]): Set<SseStream> {
    const streams = new Set<SseStream>();
    for (const clientId of clientIds) for (const stream of this.byClient.get(clientId) ?? []) streams.add(stream);
    for (const topic of topics) for (const stream of this.byTopic.get(topic) ?? []) streams.add(stream);
    return streams;
  }

  /** Registers a stream under its client id and the given topics. */
  add(stream: SseStream, topics: readonly string[]): void {
    this.all.add(stream);
    if (stream.clientId !== undefined && addTo(this.byClient, stream.clientId, stream)) {
      this.interest?.('add', { type: 'client', clientId: stream.clientId });
    }
    for (const topic of topics) this.subscribe(stream, topic);
  }

  /** Subscribes a registered stream to a topic (recorded in `stream.topics` too). */
  subscribe(stream: SseStream, topic: string): void {
    stream.topicsForHub().add(topic);
    if (addTo(this.byTopic, topic, stream)) this.interest?.('add', { type: 'topic', topic });
  }

  unsubscribe(stream: SseStream, topic: string): void {
    if (!stream.topics.has(topic)) return;
    stream.topicsForHub().delete(topic);
    if (removeFrom(this.byTopic, topic, stream)) this.interest?.('remove', { type: 'topic', topic });
  }

  /** Removes a stream from every map; false when it was not registered. */
  remove(stream: SseStream): boolean {
    if (!this.all.delete(stream)) return false;
    if (stream.clientId !== undefined && removeFrom(this.byClient, stream.clientId, stream)) {
      this.interest?.('remove', { type: 'client', clientId: stream.clientId });
    }
    for (const topic of stream.topics) {
      if (removeFrom(this.byTopic, topic, stream)) this.interest?.('remove', { type: 'topic', topic });
    }
    return true;
  }
}

/** Adds `stream` under `key`; true when `key` was new. */
function addTo(map: Map<string, Set<SseStream>>, key: string, stream: SseStream): boolean {
  let set = map.get(key);
  const added = set === undefined;
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(stream);
  return added;
}

/** Removes `stream` from `key`; true when `key` is gone with it. */
function removeFrom(map: Map<string, Set<SseStream>>, key: string, stream: SseStream): boolean {
  const set = map.get(key);
  if (set === undefined) return false;
  set.delete(stream);
  if (set.size > 0) return false;
  map.delete(key);
  return true;
}
