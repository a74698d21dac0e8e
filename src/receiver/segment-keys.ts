// Programme segment keys held by a receiver, fetched from the key server only when a content key needs one
// (claim 2). All tries for one segment's key are one episode, run by the retry rules (docs/operations.md "Retry
// rules"):
//
//  - single flight: at most one request for a segment's key is in flight at a time; every caller that wants it
//    (packets, key messages, the subscriber fallback, `request`) joins the episode already running;
//  - one requestId per segment for every try (across rounds too), so a try whose answer was lost is answered from
//    the key server's log: delivered once, logged once, billed once;
//  - 503, timeouts and network errors (any retryable code but not_yet): exponential backoff with jitter, at most
//    MAX_ERROR_TRIES tries, then a pause of COOLDOWN_MS before a later need starts a new round;
//  - a refusal (not_entitled, forbidden_role, any code that is not retryable): final at once, never asked again;
//  - not_yet: wait the announced retryAfterMs plus a little jitter (never less), then ask again; these waits do not
//    use up the error tries, but are bounded (MAX_NOT_YET_WAITS waits, NOT_YET_BUDGET_MS in all).
//  - on_the_air (multicast delivery, claims 7-8): the key server put this client's copy in a multicast message; the
//    receiver takes it from the key port (`put`), which ends the episode. If it has not come within
//    ON_THE_AIR_WAIT_MS, the next try (same requestId) asks for unicast delivery and is answered from the log.
//
// This loop is the only retry loop: the fetcher makes ONE HTTP request per call (`segmentKeyFetcher` builds it so),
// and each call is one request the receiver counts (`onRequest`).
import type { Logger } from 'pino';
import { randomRequestId } from '../crypto/random.js';
import type { Credentials } from '../keys/credentials.js';
import { KeyServerClient } from '../server/client.js';

export type SegmentKeyResult =
  | { ok: true; key: Uint8Array }
  | { ok: false; code: string; retryable: boolean; retryAfterMs?: number }
  /** The key is in a multicast message addressed to this client: wait for it (`put`) for retryAfterMs. */
  | { ok: false; code: 'on_the_air'; retryable: true; retryAfterMs: number };
/** One try: one request for `segment`'s key, carrying `requestId` (the same for every try of the segment). */
export type SegmentKeyFetcher = (segment: number, requestId: string) => Promise<SegmentKeyResult>;

export interface SegmentKeyEvents {
  onRequest(segment: number): void;
  onRefusal(segment: number, code: string): void;
  onKey(segment: number): void;
}

/** The wait after the n-th error (n ≥ 1) is uniform in [d/2, d), d = min(BACKOFF_MAX_MS, BACKOFF_START_MS·2^(n-1)). */
export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 5000;
/** Tries that end in a retryable error (503, timeout, network error) before a round gives up. */
export const MAX_ERROR_TRIES = 8;
/** After a round gave up on retryable errors, a later need starts a new round after this pause. */
export const COOLDOWN_MS = 2000;
/** not_yet: the wait is retryAfterMs + uniform [0, min(NOT_YET_JITTER_MAX_MS, 50 + retryAfterMs/10)). */
export const NOT_YET_JITTER_MAX_MS = 1000;
/** not_yet without a retryAfterMs (a fetcher that drops it): wait this long. */
export const NOT_YET_DEFAULT_WAIT_MS = 1000;
/** not_yet answers a round waits out before it gives up (like an error round: pause, then a new round). */
export const MAX_NOT_YET_WAITS = 20;
/** The most a round waits on not_yet answers in all. */
export const NOT_YET_BUDGET_MS = 120_000;
/** Per try, in `segmentKeyFetcher`: a try with no answer by then counts as a timeout (retryable). */
export const SEGMENT_KEY_TIMEOUT_MS = 3000;

export function backoffMs(errors: number, random: () => number = Math.random): number {
  const d = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (errors - 1));
  return d / 2 + (random() * d) / 2;
}

export function notYetWaitMs(retryAfterMs: number | undefined, random: () => number = Math.random): number {
  if (retryAfterMs === undefined) return NOT_YET_DEFAULT_WAIT_MS;
  return retryAfterMs + random() * Math.min(NOT_YET_JITTER_MAX_MS, 50 + retryAfterMs / 10);
}

export class SegmentKeys {
  readonly #keys = new Map<number, Uint8Array>();
  /** The running episode per segment: every caller wanting the key joins it. */
  readonly #inFlight = new Map<number, Promise<void>>();
  /** The requestId of a segment's tries, kept across rounds until the key is held. */
  readonly #requestIds = new Map<number, string>();
  /** Why a segment has no key: a refusal (final) or a round that gave up (until `retryAtMs`). */
  readonly #refused = new Map<number, { code: string; retryAtMs: number }>();
  #closed = false;

  constructor(
    readonly fetch: SegmentKeyFetcher,
    readonly log: Logger,
    readonly events: SegmentKeyEvents,
  ) {}

  get(segment: number): Uint8Array | undefined {
    const key = this.#keys.get(segment);
    if (key === undefined) this.want(segment);
    return key;
  }

  /** The key if held, without asking for it. */
  peek(segment: number): Uint8Array | undefined {
    return this.#keys.get(segment);
  }

  /** A key that came another way (a segment_key message under the service key); a running episode stops. */
  put(segment: number, key: Uint8Array): void {
    if (this.#keys.has(segment)) return;
    this.#keys.set(segment, key);
    this.#requestIds.delete(segment);
    this.events.onKey(segment);
  }

  refusal(segment: number): string | undefined {
    return this.#refused.get(segment)?.code;
  }

  /** Starts an episode for `segment` unless the key is held, an episode is running, or it was refused. */
  want(segment: number): void {
    if (this.#closed || this.#keys.has(segment) || this.#inFlight.has(segment)) return;
    const refused = this.#refused.get(segment);
    if (refused !== undefined && Date.now() < refused.retryAtMs) return;
    this.#refused.delete(segment);
    // Registered before the first try starts, so nothing the try calls can start a second episode.
    const episode = Promise.resolve()
      .then(() => this.#episode(segment))
      .finally(() => this.#inFlight.delete(segment));
    this.#inFlight.set(segment, episode);
  }

  /** The key, asking for it if needed: callers at the same moment share one episode. Undefined when refused. */
  async request(segment: number): Promise<Uint8Array | undefined> {
    this.want(segment);
    await this.#inFlight.get(segment);
    return this.#keys.get(segment);
  }

  /** Stops every episode before its next try (the receiver is closing). */
  close(): void {
    this.#closed = true;
  }

  #requestId(segment: number): string {
    let id = this.#requestIds.get(segment);
    if (id === undefined) {
      id = randomRequestId();
      this.#requestIds.set(segment, id);
    }
    return id;
  }

  async #episode(segment: number): Promise<void> {
    const requestId = this.#requestId(segment);
    let errors = 0;
    let notYetWaits = 0;
    let notYetWaitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed || this.#keys.has(segment)) return;
      this.events.onRequest(segment);
      let r: SegmentKeyResult;
      try {
        r = await this.fetch(segment, requestId);
      } catch (err) {
        r = { ok: false, code: 'unreachable', retryable: true };
        this.log.warn({ err: String(err), segment, attempt }, 'segment key request failed');
      }
      if (r.ok) {
        this.#requestIds.delete(segment);
        if (this.#keys.has(segment)) return; // came by multicast meanwhile
        this.#keys.set(segment, r.key);
        this.log.info({ segment, attempt }, 'segment key received');
        this.events.onKey(segment);
        return;
      }
      let waitMs: number | undefined;
      if (!r.retryable) {
        waitMs = undefined;
      } else if (r.code === 'on_the_air') {
        waitMs = r.retryAfterMs; // the multicast message ends the episode; if it is lost, the next try is unicast
      } else if (r.code === 'not_yet') {
        const w = notYetWaitMs(r.retryAfterMs);
        if (notYetWaits < MAX_NOT_YET_WAITS && notYetWaitedMs + w <= NOT_YET_BUDGET_MS) {
          notYetWaits++;
          notYetWaitedMs += w;
          waitMs = w;
        }
      } else if (++errors < MAX_ERROR_TRIES) {
        waitMs = backoffMs(errors);
      }
      if (waitMs === undefined) {
        this.#refused.set(segment, {
          code: r.code,
          retryAtMs: r.retryable ? Date.now() + COOLDOWN_MS : Infinity,
        });
        if (!r.retryable) this.#requestIds.delete(segment);
        this.log.warn(
          { segment, code: r.code, attempt, requestId },
          r.retryable ? 'segment key not obtained; pausing before the next round' : 'segment key refused',
        );
        this.events.onRefusal(segment, r.code);
        return;
      }
      this.log.debug(
        { segment, code: r.code, attempt, waitMs: Math.ceil(waitMs) },
        'segment key: asking again',
      );
      await new Promise((res) => setTimeout(res, waitMs).unref());
    }
  }
}

/** How long a receiver waits for its copy in a multicast message before asking for it by unicast. */
export const ON_THE_AIR_WAIT_MS = 600;

export interface SegmentKeyFetcherOptions {
  readonly serverUrl: string;
  readonly programmeId: number;
  readonly timeoutMs?: number;
  /**
   * 'multicast' (claims 7-8): ask with multicast delivery; the key server may answer several clients at once with
   * one message on the key port, which the Receiver takes its own copy from. Default 'unicast'.
   */
  readonly delivery?: 'unicast' | 'multicast';
}

/**
 * The fetcher for a Receiver: one HTTP request per call, carrying the episode's requestId. Its client does not
 * retry (maxAttempts 1): SegmentKeys' rules are the only retry loop, and every request is counted. With multicast
 * delivery, the first try of a requestId accepts multicast and every later one asks for unicast.
 */
export function segmentKeyFetcher(credentials: Credentials, o: SegmentKeyFetcherOptions): SegmentKeyFetcher {
  const client = new KeyServerClient(credentials, {
    serverUrl: o.serverUrl,
    maxAttempts: 1,
    timeoutMs: o.timeoutMs ?? SEGMENT_KEY_TIMEOUT_MS,
  });
  /** requestIds whose multicast try was answered "on the air": their next try is unicast. */
  const triedMulticast = new Set<string>();
  return async (segment, requestId) => {
    const multicast = o.delivery === 'multicast' && !triedMulticast.has(requestId);
    const r = multicast
      ? await client.requestSegmentKeyByMulticast(o.programmeId, segment, requestId)
      : await client.requestSegmentKey(o.programmeId, segment, requestId);
    triedMulticast.delete(requestId);
    if (r.ok && 'delivery' in r) {
      triedMulticast.add(requestId);
      if (triedMulticast.size > 64) triedMulticast.delete(triedMulticast.values().next().value!);
      return { ok: false, code: 'on_the_air', retryable: true, retryAfterMs: ON_THE_AIR_WAIT_MS };
    }
    if (r.ok) return { ok: true, key: r.segmentKey };
    return {
      ok: false,
      code: r.code,
      retryable: r.retryable,
      ...(r.retryAfterMs !== undefined && { retryAfterMs: r.retryAfterMs }),
    };
  };
}
