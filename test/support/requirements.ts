/**
 * Real parts a test needs (a redis-server, Chromium). On a developer's machine a missing part skips the test with a
 * loud reason; under CI=true it is a failure, because CI installs every part.
 */
export function requirePart(name: string, available: boolean, howToInstall: string): { skip: boolean } {
  if (available) return { skip: false };
  const message = `${name} is not available: ${howToInstall}`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`[ssekit tests] CI=true but ${message}`);
  }
  console.warn(`\n[ssekit tests] SKIPPING tests that need ${name}. ${message}\n`);
  return { skip: true };
}
