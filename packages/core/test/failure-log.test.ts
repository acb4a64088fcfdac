import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../../test/support/logger.js';
import { FailureLog } from '../src/failure-log.js';

const refused = new Error('Redis is unreachable.');

function counts(lines: string[]): number[] {
  return lines.map((line) => Number(/^\[ssekit\] (\d+) event\(s\) could not be published/.exec(line)?.[1]));
}

describe('the publish failure log', () => {
  it('writes at most one line per interval, each counting every failure since the previous line', () => {
    let now = 0;
    const logger = captureLogger();
    const log = new FailureLog(logger, 5000, () => now);
    log.record(refused);
    for (let i = 0; i < 343; i++) {
      now += 10;
      log.record(refused);
    }
    expect(counts(logger.errorMessages)).toEqual([1]);
    now += 5000;
    log.record(refused);
    expect(counts(logger.errorMessages)).toEqual([1, 344]);
    expect(logger.errors[1]?.[1]).toBe(refused);
  });

  it('flush() reports the failures no line has counted yet, once, and nothing when there are none', () => {
    let now = 0;
    const logger = captureLogger();
    const log = new FailureLog(logger, 5000, () => now);
    log.flush();
    expect(logger.errorMessages).toEqual([]);
    log.record(refused);
    now += 1;
    log.record(refused);
    log.record(refused);
    log.flush();
    log.flush();
    expect(counts(logger.errorMessages)).toEqual([1, 2]);
  });
});
