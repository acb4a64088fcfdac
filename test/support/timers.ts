/** The timers some code started and has neither cleared nor seen fire. */
export interface TimerWatch {
  /** Timers created by files whose path contains the watched fragment, still pending. */
  readonly pending: number;
  /** Puts the global `setTimeout` and `clearTimeout` back. */
  stop(): void;
}

/**
 * Watches `setTimeout` from now on and counts the timers created from a source file whose path contains `fragment`
 * (its stack says where), until they fire or are cleared. Other timers (the test's, fetch's own) are not counted.
 * Code that calls the global `setTimeout` at run time is seen; code that kept a reference from before is not.
 */
export function watchTimers(fragment: string): TimerWatch {
  const set = globalThis.setTimeout;
  const clear = globalThis.clearTimeout;
  const pending = new Set<unknown>();
  const patchedSet = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const ours =
      new Error().stack
        ?.split('\n')
        .slice(2)
        .some((line) => line.includes(fragment)) ?? false;
    const handle: unknown = set(
      (...callArgs: unknown[]) => {
        pending.delete(handle);
        callback(...callArgs);
      },
      ms,
      ...args,
    );
    if (ours) pending.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.setTimeout = patchedSet;
  globalThis.clearTimeout = ((handle?: Parameters<typeof clearTimeout>[0]) => {
    pending.delete(handle);
    clear(handle);
  }) as typeof clearTimeout;
  return {
    get pending() {
      return pending.size;
    },
    stop() {
      globalThis.setTimeout = set;
      globalThis.clearTimeout = clear;
    },
  };
}
