import type { Connection } from './connection.js';

/** A stream this instance created and may still append to: checked for a missed cancel after a reconnection. */
interface Owned {
  readonly generation: string;
  /** When Redis expires it unless appended to again (this instance's clock, ms). */
  expiresAt: number;
  readonly ttl: number;
}

/**
 * The streams this instance created and may still append to, so that a cancel missed while the pub/sub connection
 * was down is found after it reconnects. A stream is forgotten once it ends, is stopped or expires in Redis.
 */
export class OwnedStreams {
  private readonly owned = new Map<string, Owned>();

  /** `meta` names the meta hash of a stream, read on `connection`. */
  constructor(
    private readonly connection: Connection,
    private readonly meta: (key: string) => string,
  ) {}

  get size(): number {
    return this.owned.size;
  }

  /** Stream `key` was created here as `generation`; Redis expires it after `ttl` ms unless appended to. */
  created(key: string, generation: string, ttl: number): void {
    this.owned.set(key, { generation, expiresAt: Date.now() + ttl, ttl });
  }

  /** An append to `generation` of `key` was answered: its expiry moves on, or the stream is done. */
  appended(key: string, generation: string, appended: boolean, ended: boolean): void {
    const owned = this.owned.get(key);
    if (owned === undefined || owned.generation !== generation) return;
    if (!appended || ended) this.owned.delete(key);
    else owned.expiresAt = Date.now() + owned.ttl;
  }

  /** A cancel of `key` was reported (over pub/sub, or here): no later check reports it again. */
  forget(key: string): void {
    this.owned.delete(key);
  }

  /** Forgets the streams Redis has expired by `now`. */
  expire(now: number): void {
    for (const [key, owned] of this.owned) if (owned.expiresAt <= now) this.owned.delete(key);
  }

  /**
   * A stream created here and cancelled while its message could not arrive is reported now: after (re)subscribing
   * to cancels, and every second or so while the instance owns streams (pub/sub loses what a link that went quiet
   * and came back, without a reconnection, was sent meanwhile).
   */
  checkMissedCancels(cancelled: (key: string) => void): void {
    for (const [key, owned] of this.owned) {
      this.connection.command(['HMGET', this.meta(key), 'g', 'e']).then((reply) => {
        if (!Array.isArray(reply) || reply[0] !== owned.generation || reply[1] !== 'cancelled') return;
        if (this.owned.get(key) !== owned) return;
        this.owned.delete(key);
        cancelled(key);
      }, noop);
    }
  }

  clear(): void {
    this.owned.clear();
  }
}

function noop(): void {}
