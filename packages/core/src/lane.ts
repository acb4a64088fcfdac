import { type Flushable, flusher } from './flusher.js';

/** What the lane hands its broadcasts to: a stream's writer, with its position in the lane. */
export interface LaneMember {
  /** Position in the lane up to which this member has taken frames. */
  laneCursor: number;
  /** Takes one frame, after everything it took before (a replay may hold it back). */
  accept(frame: Buffer, seq: number, id: string | undefined): void;
}

/**
 * The broadcasts of one hub that not every stream has taken yet. A broadcast is appended here once, whatever the
 * number of connections, instead of being queued on each stream while the app's publish call waits. Each stream
 * takes the frames past its own cursor ({@link Lane.catchUp}) when it is flushed or before anything else is queued
 * for it, so the order of events is kept; once every stream was flushed, the frames they all took are dropped.
 *
 * A round: the first broadcast after a quiet lane marks every member for the next flush, and after them a trimmer.
 * The flusher runs the members (each takes the lane as it writes), then the trimmer, which drops what is now taken
 * by all and starts another round when broadcasts arrived during the flush.
 */
export class Lane {
  private frames: Buffer[] = [];
  private seqs: number[] = [];
  private ids: (string | undefined)[] = [];
  /** Absolute position of the oldest frame kept. */
  private start = 0;
  // The lane end the members were last marked for; -1 while no round is scheduled.
  private mark = -1;
  private readonly trimmer: Flushable = { flushPending: () => this.trim() };

  /** `markMembers` queues every member of the hub for the next flush (the hub knows its streams). */
  constructor(private readonly markMembers: () => void) {}

  /** Absolute position after the newest frame: where a member that joins now starts. */
  get end(): number {
    return this.start + this.frames.length;
  }

  /** Appends one broadcast; schedules a round unless one is already scheduled. */
  append(frame: Buffer, seq: number, id: string | undefined): void {
    this.frames.push(frame);
    this.seqs.push(seq);
    this.ids.push(id);
    if (this.mark === -1) this.schedule();
  }

  /** Hands a member the broadcasts it has not taken yet, in publish order. */
  catchUp(member: LaneMember): void {
    const end = this.end;
    const from = member.laneCursor;
    if (from >= end) return;
    // Moved first: taking a frame can end the stream, and what its listeners publish must not be taken twice.
    member.laneCursor = end;
    for (let i = Math.max(from, this.start); i < end; i++) {
      const at = i - this.start;
      member.accept(this.frames[at] as Buffer, this.seqs[at] as number, this.ids[at]);
    }
  }

  /** True when `member` has broadcasts left to take. */
  behind(member: LaneMember): boolean {
    return member.laneCursor < this.end;
  }

  private schedule(): void {
    this.mark = this.end;
    this.markMembers();
    flusher.mark(this.trimmer);
  }

  /**
   * Runs after every member queued by `schedule`, so each member has taken the lane up to the mark (members that
   * joined since start past it). Broadcasts published during the flush get another round.
   */
  private trim(): void {
    this.drop(this.mark);
    if (this.end > this.mark) this.schedule();
    else this.mark = -1;
  }

  /** Drops the frames before absolute position `until`. */
  private drop(until: number): void {
    const count = Math.min(until - this.start, this.frames.length);
    if (count <= 0) return;
    if (count === this.frames.length) {
      this.frames = [];
      this.seqs = [];
      this.ids = [];
    } else {
      this.frames.splice(0, count);
      this.seqs.splice(0, count);
      this.ids.splice(0, count);
    }
    this.start += count;
  }
}
