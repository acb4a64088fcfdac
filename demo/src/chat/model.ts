import { setTimeout as delay } from 'node:timers/promises';

/** Longest prompt accepted, in characters. */
export const MAX_PROMPT_LENGTH = 500;

const ANSWER =
  'Here is how this answer reaches you. The server runs the model once and writes each token to a log ' +
  'that lives in the hub: in memory, or in Redis when several instances share the work. Your browser POSTed ' +
  'the prompt with @ssekit/client and reads the tokens as Server-Sent Events, each with an id. When the ' +
  'connection drops, the client reconnects with the stream key and the last id it saw, without the prompt, so ' +
  'no second generation starts; any instance reads the log from there, and the answer goes on where it stopped. ' +
  'Stop cancels the stream: the model gets an abort signal and no more tokens are produced.';

/**
 * The answer the simulated model gives to `prompt`, token by token (a word and its trailing space, as model
 * tokens often are). Deterministic, so a test can compute what the page must end up showing.
 */
export function answerTokens(prompt: string): string[] {
  const text = `You asked: “${prompt.trim()}”. ${ANSWER}`;
  return text.match(/\S+\s*/g) ?? [];
}

/**
 * A simulated model: no network, the tokens of {@link answerTokens} at a steady pace, one per `interval` ms. It
 * stops at once when `signal` aborts (a cancel, or nobody reading for the grace period), as a model SDK's call does:
 * the wait is interrupted and no later token is produced.
 */
export async function* simulateModel(
  prompt: string,
  options: { interval: number; signal: AbortSignal },
): AsyncGenerator<string> {
  for (const token of answerTokens(prompt)) {
    await delay(options.interval, undefined, { signal: options.signal });
    yield token;
  }
}
