/**
 * The `onCancel` listeners of a stream log: each is told of every cancel (made here, heard on the cancel channel, or
 * found missed after a reconnection); one that throws is reported and the others are still told.
 */
export class CancelListeners {
  private readonly listeners = new Set<(key: string) => void>();

  constructor(private readonly report: (message: string, error: unknown) => void) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds `listener`; the function returned removes it, and answers false when it already had. */
  add(listener: (key: string) => void): () => boolean {
    // A listener function given twice is wrapped, so that each onCancel() has its own place and its own removal.
    const own = (key: string): void => listener(key);
    this.listeners.add(own);
    return () => this.listeners.delete(own);
  }

  notify(key: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(key);
      } catch (error) {
        this.report('[ssekit] a resumable-stream onCancel listener threw.', error);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
