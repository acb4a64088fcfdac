import type { ServerResponse } from 'node:http';
import { SseTypeError } from './errors.js';
import type { Hub } from './hub.js';
import { resumablesOf } from './resumable.js';
import { bindStart, markResume } from './resumable-binding.js';
import { assertStreamKey, randomStreamKey, readStreamRequest, STREAM_KEY_HEADER } from './resumable-protocol.js';
import { createStream, type SseRequest, type SseResponse, type SseStream } from './stream.js';
import type { ResolvedStreamOptions } from './stream-options.js';
import { setStreamRoute } from './stream-route.js';
import { assertKnownOptions, describe, functionOption, positiveIntOption } from './validate.js';

/**
 * The `resumable` route option: the route's responses are resumable streams (docs/streaming-responses.md). A request
 * without the `Ssekit-Stream-Key` header starts one (the handler runs and calls `res.sse.resumable(producer)`); with
 * it, the request resumes the stream (the handler does not run), or cancels it with `Ssekit-Stream-Action: cancel`.
 */
export interface ResumableOptions<Req = SseRequest> {
  /**
   * Who owns a stream this request starts, from the app's own authentication: a reader or canceller must have the
   * same owner (else 403). `undefined` for none: then the key alone (128 random bits by default) gives access.
   */
  owner?: (req: Req) => string | undefined | null | Promise<string | undefined | null>;
  /** The key of a stream this request starts. Default: 128 random bits, base64url. A key in use is answered 409. */
  key?: (req: Req) => string | Promise<string>;
  /** Milliseconds a producer goes on while nobody reads its stream, on any instance. Default 30 000; 0 stops at once. */
  grace?: number;
  /** Milliseconds a stream stays readable after its last event (finished or not). Default 600 000. */
  ttl?: number;
  /** Most events one stream holds; past it the producer is stopped (`ssekit-error` `too-large`). Default 100 000. */
  maxEvents?: number;
  /** Most bytes of event data (and names) one stream holds; likewise. Default 16 MiB. */
  maxBytes?: number;
  /** Puts a failed producer's error message in its `ssekit-error` event. Default false: it is only logged. */
  exposeErrors?: boolean;
}

/** Default `grace`: 30 s. */
export const DEFAULT_STREAM_GRACE = 30_000;
/** Default `ttl`: 10 minutes. */
export const DEFAULT_STREAM_TTL = 600_000;
/** Default `maxEvents`. */
export const DEFAULT_STREAM_MAX_EVENTS = 100_000;
/** Default `maxBytes`: 16 MiB. */
export const DEFAULT_STREAM_MAX_BYTES = 16 * 1024 * 1024;

/** The `resumable` option after validation. */
export interface ResolvedResumable<Req> {
  readonly owner: ResumableOptions<Req>['owner'];
  readonly key: ResumableOptions<Req>['key'];
  readonly grace: number;
  readonly ttl: number;
  readonly maxEvents: number;
  readonly maxBytes: number;
  readonly exposeErrors: boolean;
}

const KEYS = ['owner', 'key', 'grace', 'ttl', 'maxEvents', 'maxBytes', 'exposeErrors'] as const;

/** Validates the `resumable` route option once, when the route is declared. */
export function resolveResumable<Req>(value: unknown): ResolvedResumable<Req> | undefined {
  if (value === undefined || value === false) return undefined;
  const options = (value === true ? {} : value) as ResumableOptions<Req>;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`resumable\` must be true or an options object, got ${describe(value)}.`,
    );
  }
  assertKnownOptions('the `resumable` option', options, KEYS);
  if (options.exposeErrors !== undefined && typeof options.exposeErrors !== 'boolean') {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `Option \`resumable.exposeErrors\` must be true or false, got ${describe(options.exposeErrors)}.`,
    );
  }
  return {
    owner: functionOption('resumable.owner', options.owner),
    key: functionOption('resumable.key', options.key),
    grace: options.grace === 0 ? 0 : positiveIntOption('resumable.grace', options.grace, DEFAULT_STREAM_GRACE),
    ttl: positiveIntOption('resumable.ttl', options.ttl, DEFAULT_STREAM_TTL),
    maxEvents: positiveIntOption('resumable.maxEvents', options.maxEvents, DEFAULT_STREAM_MAX_EVENTS),
    maxBytes: positiveIntOption('resumable.maxBytes', options.maxBytes, DEFAULT_STREAM_MAX_BYTES),
    exposeErrors: options.exposeErrors ?? false,
  };
}

/** What `openConnection` knows when it hands a request on a resumable route over. */
export interface ResumableRequest<Req> {
  readonly hub: Hub;
  readonly resumable: ResolvedResumable<Req>;
  readonly options: ResolvedStreamOptions;
  readonly appRequest: Req;
  readonly req: SseRequest;
  readonly res: SseResponse;
  readonly clientId: string | undefined;
  /** Connection limits: answers and returns true when the request is refused. */
  readonly refused: () => boolean;
  readonly beforeOpen: (() => void) | undefined;
  /** The route pattern, for the metrics' `http.route`. */
  readonly route: string | undefined;
}

/**
 * Serves a request on a resumable route: START (no key header), RESUME (key) or CANCEL (key and action). Every
 * check (400, 403, 404, 409, 410) throws before anything is written.
 * @returns the open stream (the handler runs for a START only: see `skipsHandler`), or `undefined` when the
 *   request was answered without one (a cancel's 204, a refusal).
 */
export async function openResumable<Req>(request: ResumableRequest<Req>): Promise<SseStream | undefined> {
  const { hub, resumable, appRequest, req, res } = request;
  const asked = readStreamRequest(req);
  const owner = await ownerOf(resumable, appRequest);
  const streams = resumablesOf(hub);
  if (asked.action === 'cancel') {
    await streams.authorize(asked.key, owner);
    request.beforeOpen?.();
    await streams.cancel(asked.key);
    (res as ServerResponse).writeHead(204, { [STREAM_KEY_HEADER]: asked.key });
    res.end();
    return undefined;
  }
  if (asked.action === 'resume') {
    const { reader, backlog } = await streams.openReader(asked.key, owner, asked.after);
    if (request.refused()) {
      reader.close();
      return undefined;
    }
    let stream: SseStream;
    try {
      stream = open(request, asked.key);
    } catch (error) {
      reader.close();
      throw error;
    }
    markResume(stream);
    streams.serve(stream, asked.key, reader, backlog);
    return stream;
  }
  const key = resumable.key === undefined ? randomStreamKey() : await keyOf(resumable, appRequest);
  if (request.refused()) return undefined;
  const run = await streams.create(
    key,
    owner,
    { ttl: resumable.ttl, maxEvents: resumable.maxEvents, maxBytes: resumable.maxBytes },
    resumable.grace,
    { serializer: request.options.serializer, logger: request.options.logger, exposeErrors: resumable.exposeErrors },
  );
  const { reader, backlog } = await streams.openReader(key, owner, 0);
  let stream: SseStream;
  try {
    stream = open(request, key);
  } catch (error) {
    reader.close();
    throw error;
  }
  bindStart(stream, run);
  streams.serve(stream, key, reader, backlog);
  return stream;
}

function open<Req>(request: ResumableRequest<Req>, key: string): SseStream {
  request.beforeOpen?.();
  // Set on the response before the stream writes its head, which then carries it.
  request.res.setHeader(STREAM_KEY_HEADER, key);
  const stream = createStream(request.req, request.res, request.options, request.clientId);
  if (request.route !== undefined) setStreamRoute(stream, request.route);
  return stream;
}

async function ownerOf<Req>(resumable: ResolvedResumable<Req>, appRequest: Req): Promise<string | undefined> {
  if (resumable.owner === undefined) return undefined;
  const owner = await resumable.owner(appRequest);
  if (owner === undefined || owner === null) return undefined;
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 1024) {
    throw new SseTypeError(
      'SSE_INVALID_OPTION',
      `resumable.owner() must return a non-empty string of at most 1024 characters, or undefined, got ${describe(owner)}.`,
    );
  }
  return owner;
}

async function keyOf<Req>(resumable: ResolvedResumable<Req>, appRequest: Req): Promise<string> {
  const key = await (resumable.key as (req: Req) => string | Promise<string>)(appRequest);
  assertStreamKey(key);
  return key;
}
