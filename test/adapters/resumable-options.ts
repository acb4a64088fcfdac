import type { ResumableOptions } from '@ssekit/core';
import type { TestRequest } from './types.js';

/** A test route's `resumable` option, with `owner`/`key` rewritten for the framework's own request type. */
export function resumableFor<R>(
  value: boolean | ResumableOptions<TestRequest> | undefined,
  view: (req: R) => TestRequest,
): boolean | ResumableOptions<R> | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  const { owner, key, ...rest } = value;
  const options: ResumableOptions<R> = { ...rest };
  if (owner) options.owner = (req) => owner(view(req));
  if (key) options.key = (req) => key(view(req));
  return options;
}
