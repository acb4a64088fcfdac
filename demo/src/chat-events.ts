/**
 * The events of the chat panel's stream, declared once: the server's producer is checked against this map
 * (`res.sse.resumable<ChatEvents>(…)`) and the page's `connect<ChatEvents>()` reads the same names and types
 * (demo/public/chat.js refers to it in JSDoc; a TypeScript page would `import type` it).
 */
export type ChatEvents = {
  /** First: who generates the answer, and how long it will be. */
  answer: { instance: string; tokens: number };
  /** One token of the answer; `index` counts from 0, so a reader can check that none is missing or repeated. */
  token: { index: number; text: string };
  /** Last, after every token. */
  usage: { tokens: number; ms: number };
};
