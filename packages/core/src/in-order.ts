/**
 * Runs items one at a time, in arrival order, even when running one pushes another: the re-entrancy guard of the
 * hub's delivery. A `disconnect` or `close` listener that publishes while a delivery ends a slow consumer would
 * otherwise deliver the newer event to the remaining connections before the older one, and their cursors would
 * skip it. A pushed item waits until the current one (and those before it) are done.
 */
export class InOrder<T> {
  private running = false;
  private readonly waiting: T[] = [];

  constructor(private readonly run: (item: T) => void) {}

  push(item: T): void {
    if (this.running) {
      this.waiting.push(item);
      return;
    }
    this.running = true;
    try {
      this.run(item);
      const waiting = this.waiting;
      for (let i = 0; i < waiting.length; i++) this.run(waiting[i] as T);
    } finally {
      this.waiting.length = 0;
      this.running = false;
    }
  }
}
