import { clock, type Ticking } from '../../packages/core/src/clock.js';

/** What @ssekit/core's process-wide clock walks, watched through its own `add` and `delete`. */
export interface ClockWatch {
  /** Members added since the watch started and not deleted since (one per stream with a heartbeat or timeout). */
  readonly size: number;
  /** The member added last: a stream's clock entry, to tick it at a chosen time. Throws when there is none. */
  last(): Ticking;
  /** Puts the clock's own `add` and `delete` back. */
  stop(): void;
}

/**
 * Watches the clock's members from now on. Tests use it to check that streams join and leave the clock (no leaked
 * member), and to tick one stream at a chosen time instead of waiting for real time to pass.
 */
export function watchClock(): ClockWatch {
  const add = clock.add;
  const remove = clock.delete;
  const members = new Set<Ticking>();
  let last: Ticking | undefined;
  clock.add = (member, interval) => {
    members.add(member);
    last = member;
    add.call(clock, member, interval);
  };
  clock.delete = (member) => {
    members.delete(member);
    remove.call(clock, member);
  };
  return {
    get size() {
      return members.size;
    },
    last() {
      if (last === undefined) throw new Error('No stream has joined the clock since the watch started.');
      return last;
    },
    stop() {
      clock.add = add;
      clock.delete = remove;
    },
  };
}
