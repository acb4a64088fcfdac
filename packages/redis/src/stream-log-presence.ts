import { SseError } from '@ssekit/core';
import type { Connection } from './connection.js';
import { ABSENT, HAS_READERS, PRESENT, runScript } from './stream-log-script.js';

/**
 * Which streams this instance has readers of, shared through Redis as leases: one sorted-set member per instance,
 * scored by when its lease ends, renewed by the broker's timer. An instance that dies or loses Redis stops renewing,
 * and its presence lapses within one lease.
 */
export class Presence {
  private readonly present = new Set<string>();

  constructor(
    private readonly connection: Connection,
    private readonly readersKey: (key: string) => string,
    private readonly instance: string,
    private readonly lease: number,
    private readonly report: (message: string, error: unknown) => void,
  ) {}

  /** Streams this instance has readers of. */
  get size(): number {
    return this.present.size;
  }

  set(key: string, present: boolean): void {
    if (present) {
      this.present.add(key);
      this.write(key, true);
    } else if (this.present.delete(key)) {
      this.write(key, false);
    }
  }

  /** True at once for a stream with a reader here; otherwise asks Redis for another instance's unexpired lease. */
  async has(key: string): Promise<boolean> {
    if (this.present.has(key)) return true;
    const count = await runScript(
      this.connection,
      HAS_READERS,
      [this.readersKey(key)],
      [],
      `checking for readers of stream ${JSON.stringify(key)}`,
    );
    return typeof count === 'number' && count > 0;
  }

  /** Renews every lease of this instance. */
  renew(): void {
    for (const key of this.present) this.write(key, true);
  }

  /** Withdraws every lease of this instance (best effort: what fails lapses on its own). */
  async close(): Promise<void> {
    const keys = [...this.present];
    this.present.clear();
    await Promise.all(keys.map((key) => this.send(key, false).catch(noop)));
  }

  private write(key: string, present: boolean): void {
    this.send(key, present).catch((error: unknown) => {
      // Down is reported by the connection, and the next renewal retries; a refusal is worth telling.
      if (error instanceof SseError && error.message.startsWith('Redis refused')) {
        this.report('[ssekit] Redis refused a resumable-stream reader lease.', error);
      }
    });
  }

  private send(key: string, present: boolean): Promise<unknown> {
    const what = `${present ? 'renewing' : 'withdrawing'} this instance's reader lease of stream ${JSON.stringify(key)}`;
    return present
      ? runScript(this.connection, PRESENT, [this.readersKey(key)], [this.instance, String(this.lease)], what)
      : runScript(this.connection, ABSENT, [this.readersKey(key)], [this.instance], what);
  }
}

function noop(): void {}
