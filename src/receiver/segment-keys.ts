// Programme segment keys held by a receiver, fetched from the key server only when a content key needs one
// (claim 2): one request per segment however many packets or messages want it, bounded backoff on errors,
// and no retry after a refusal such as not_entitled.
import type { Logger } from 'pino';

export type SegmentKeyResult =
  { ok: true; key: Uint8Array } | { ok: false; code: string; retryable: boolean; retryAfterMs?: number };
export type SegmentKeyFetcher = (segment: number) => Promise<SegmentKeyResult>;

export interface SegmentKeyEvents {
  onRequest(segment: number): void;
  onRefusal(segment: number, code: string): void;
  onKey(segment: number): void;
}

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5000;
const MAX_TRIES = 6;
/** After giving up on a retryable error (key server down), a later need starts a new round after this pause. */
const COOLDOWN_MS = 5000;

export class SegmentKeys {
  readonly #keys = new Map<number, Uint8Array>();
  readonly #inFlight = new Set<number>();
  /** Why a segment has no key: a refusal (final) or a retryable failure (until `retryAtMs`). */
  readonly #refused = new Map<number, { code: string; retryAtMs: number }>();

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

  /** A key that came another way (a segment_key message under the service key). */
  put(segment: number, key: Uint8Array): void {
    if (this.#keys.has(segment)) return;
    this.#keys.set(segment, key);
    this.events.onKey(segment);
  }

  refusal(segment: number): string | undefined {
    return this.#refused.get(segment)?.code;
  }

  /** Starts one fetch for `segment` unless it is held, in flight or was refused. */
  want(segment: number): void {
    if (this.#keys.has(segment) || this.#inFlight.has(segment)) return;
    const refused = this.#refused.get(segment);
    if (refused !== undefined && Date.now() < refused.retryAtMs) return;
    this.#refused.delete(segment);
    this.#inFlight.add(segment);
    void this.#fetchWithBackoff(segment).finally(() => this.#inFlight.delete(segment));
  }

  async #fetchWithBackoff(segment: number): Promise<void> {
    let delayMs = BACKOFF_START_MS;
    for (let attempt = 1; attempt <= MAX_TRIES; attempt++) {
      this.events.onRequest(segment);
      let r: SegmentKeyResult;
      try {
        r = await this.fetch(segment);
      } catch (err) {
        r = { ok: false, code: 'unreachable', retryable: true };
        this.log.warn({ err: String(err), segment, attempt }, 'segment key request failed');
      }
      if (r.ok) {
        this.#keys.set(segment, r.key);
        this.log.info({ segment }, 'segment key received');
        this.events.onKey(segment);
        return;
      }
      if (!r.retryable || attempt === MAX_TRIES) {
        this.#refused.set(segment, {
          code: r.code,
          retryAtMs: r.retryable ? Date.now() + COOLDOWN_MS : Infinity,
        });
        this.log.warn({ segment, code: r.code }, 'segment key refused');
        this.events.onRefusal(segment, r.code);
        return;
      }
      const wait = r.retryAfterMs ?? delayMs * (0.5 + Math.random());
      await new Promise((res) => setTimeout(res, wait));
      delayMs = Math.min(BACKOFF_MAX_MS, delayMs * 2);
    }
  }
}
