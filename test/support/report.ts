import { appendFileSync } from 'node:fs';

/**
 * Prints the figures a reliability scenario measured (so CI logs carry them), and appends them as one JSON line to
 * the file named by `SSEKIT_REPORT` when set (how docs/reliability.md's tables are produced).
 */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.info(`[reliability] ${scenario}: ${JSON.stringify(figures)}`);
  const file = process.env.SSEKIT_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`);
}

/** Bytes as MiB with one decimal, for reports. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
