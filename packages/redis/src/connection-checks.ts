import { SseError, SseTypeError } from '@ssekit/core';
import { describe } from '@ssekit/core/broker';
import type {
  RedisClientTemplate,
  RedisClusterConnection,
  RedisConnection,
  RedisSentinelConnection,
} from './options.js';

// The checks of createRedisBroker()'s first argument: where Redis is (a URL, a client, a cluster or a sentinel).

/** Validates the first argument: exactly one of `url` and `client`. */
export function checkConnection(connection: unknown): RedisConnection {
  if (connection === null || typeof connection !== 'object' || Array.isArray(connection)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `createRedisBroker() needs { url } or { client } as its first argument, got ${describe(connection)}.`,
    );
  }
  const c = connection as Record<string, unknown>;
  for (const name of Object.keys(c)) {
    if (name !== 'url' && name !== 'client' && name !== 'cluster' && name !== 'sentinel') {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Unknown connection option \`${name}\` for createRedisBroker(): pass { url }, { client }, { cluster } or { sentinel }, and broker options as the second argument.`,
      );
    }
  }
  if (c.sentinel !== undefined) {
    if (Object.keys(c).some((name) => name !== 'sentinel' && c[name] !== undefined)) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        'Pass `sentinel` alone to createRedisBroker(), without `url`, `client` or `cluster`.',
      );
    }
    return { sentinel: checkSentinel(c.sentinel) };
  }
  if (c.cluster !== undefined) {
    if (c.url !== undefined || c.client !== undefined) {
      throw new SseError(
        'SSE_INVALID_OPTION',
        'Pass `cluster` alone to createRedisBroker(), without `url` or `client`.',
      );
    }
    return { cluster: checkCluster(c.cluster) };
  }
  if (c.url !== undefined && c.client !== undefined) {
    throw new SseError('SSE_INVALID_OPTION', 'Pass either `url` or `client` to createRedisBroker(), not both.');
  }
  if (c.url !== undefined) return { url: checkUrl('url', c.url) };
  if (c.client !== undefined) {
    const client = c.client as Record<string, unknown> | null;
    if (client === null || typeof client !== 'object' || typeof client.duplicate !== 'function') {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        `Option \`client\` must be a node-redis v5 client from createClient(), got ${describe(client)}.`,
      );
    }
    if ('masters' in client || 'getSentinelNode' in client || typeof client.sendCommand !== 'function') {
      throw new SseTypeError(
        'SSE_INVALID_OPTION',
        'Option `client` must be a standalone node-redis client (createClient()); cluster and sentinel clients are not supported.',
      );
    }
    return { client: client as unknown as RedisClientTemplate };
  }
  throw new SseTypeError(
    'SSE_INVALID_OPTION',
    'createRedisBroker() needs `url` (e.g. { url: "redis://127.0.0.1:6379" }) or `client`.',
  );
}

function checkUrl(name: string, url: unknown): string {
  if (typeof url !== 'string') {
    throw new SseTypeError('SSE_INVALID_OPTION', `Option \`${name}\` must be a string, got ${describe(url)}.`);
  }
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`${name}\` is not a valid URL; use redis://host:port (or rediss:// for TLS).`,
    );
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`${name}\` must use redis:// or rediss://, got ${JSON.stringify(protocol)}.`,
    );
  }
  return url;
}

function checkCluster(cluster: unknown): RedisClusterConnection {
  const nodes = (cluster as { rootNodes?: unknown } | null)?.rootNodes;
  if (cluster === null || typeof cluster !== 'object' || !Array.isArray(nodes) || nodes.length === 0) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`cluster\` must be { rootNodes: [{ url: 'redis://host:port' }, …] } with at least one node, got ${describe(cluster)}.`,
    );
  }
  for (const name of Object.keys(cluster)) {
    if (name !== 'rootNodes') {
      throw new SseError('SSE_INVALID_OPTION', `Unknown option \`cluster.${name}\`: pass { rootNodes }.`);
    }
  }
  return {
    rootNodes: nodes.map((node: unknown, i) => ({
      url: checkUrl(`cluster.rootNodes[${i}].url`, (node as { url?: unknown } | null)?.url),
    })),
  };
}

function checkSentinel(sentinel: unknown): RedisSentinelConnection {
  const s = sentinel as { name?: unknown; sentinelRootNodes?: unknown; nodeUrl?: unknown } | null;
  const nodes = s?.sentinelRootNodes;
  if (s === null || typeof s !== 'object' || !Array.isArray(nodes) || nodes.length === 0) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`sentinel\` must be { name: 'mymaster', sentinelRootNodes: [{ url: 'redis://host:26379' }, …] } with at least one sentinel, got ${describe(sentinel)}.`,
    );
  }
  for (const name of Object.keys(s)) {
    if (name !== 'name' && name !== 'sentinelRootNodes' && name !== 'nodeUrl') {
      throw new SseError(
        'SSE_INVALID_OPTION',
        `Unknown option \`sentinel.${name}\`: pass { name, sentinelRootNodes, nodeUrl? }.`,
      );
    }
  }
  if (typeof s.name !== 'string' || s.name === '') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`sentinel.name\` must be the master's name in the sentinels' configuration (e.g. 'mymaster'), got ${describe(s.name)}.`,
    );
  }
  return {
    name: s.name,
    sentinelRootNodes: nodes.map((node: unknown, i) => ({
      url: checkUrl(`sentinel.sentinelRootNodes[${i}].url`, (node as { url?: unknown } | null)?.url),
    })),
    ...(s.nodeUrl === undefined ? {} : { nodeUrl: checkUrl('sentinel.nodeUrl', s.nodeUrl) }),
  };
}
