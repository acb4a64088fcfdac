import type { Logger } from '@ssekit/core';
import type { FastifyBaseLogger } from 'fastify';

/**
 * ssekit logs as `logger.error(message, error)`; pino, behind Fastify's `app.log`, would drop the error object
 * given that way. This puts it where pino serializes it: `log.error({ err }, message)`.
 */
export function pinoLogger(log: FastifyBaseLogger): Logger {
  const write =
    (level: 'error' | 'warn') =>
    (...args: unknown[]): void => {
      const [message, error] = args;
      if (error === undefined) log[level](String(message));
      else log[level]({ err: error }, String(message));
    };
  return { error: write('error'), warn: write('warn') };
}
