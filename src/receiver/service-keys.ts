// Service keys held by a subscriber (claims 9-11): the SK of each (service, period) it bought, given at start (kept
// from the purchase) or fetched once with POST /v1/keys/service. With the SK of the current period the receiver
// takes programme segment keys from the segment_key messages on the key port and never asks for a segment key.
// A refusal (not_entitled: not a subscriber of that period) is final for the period; other failures may be
// retried after a pause. Retry rules (docs/operations.md "Retry rules"): one request in flight per (service,
// period), and every try for it carries the same requestId, so a lost answer is answered from the key server's log.
// A service key is asked for rarely (at start, and once ahead of a period change), so its fetcher keeps
// KeyServerClient's own retries (503, timeouts, network errors, with backoff) within one call.
import type { Logger } from 'pino';
import { randomRequestId } from '../crypto/random.js';
import type { KeyServerClient } from '../server/client.js';

export type ServiceKeyResult =
  { ok: true; key: Uint8Array } | { ok: false; code: string; retryable: boolean };
/** One call for the SK of (service, period), carrying `requestId` (the same for every call for that pair). */
export type ServiceKeyFetcher = (
  serviceId: number,
  period: string,
  requestId: string,
) => Promise<ServiceKeyResult>;

const RETRY_AFTER_MS = 5000;

export class ServiceKeys {
  readonly #keys = new Map<string, Uint8Array>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #refused = new Map<string, { code: string; retryAtMs: number }>();
  readonly #requestIds = new Map<string, string>();

  constructor(
    readonly fetch: ServiceKeyFetcher | undefined,
    readonly log: Logger,
    readonly events: {
      onRequest(serviceId: number, period: string): void;
      onRefusal(serviceId: number, period: string, code: string): void;
      onKey(serviceId: number, period: string): void;
    },
  ) {}

  add(serviceId: number, period: string, key: Uint8Array): void {
    this.#keys.set(`${serviceId}/${period}`, key);
  }

  get(serviceId: number, period: string): Uint8Array | undefined {
    return this.#keys.get(`${serviceId}/${period}`);
  }

  /** Fetches the SK of (service, period) once unless held, in flight or refused; resolves whether it is held. */
  want(serviceId: number, period: string): Promise<boolean> {
    const id = `${serviceId}/${period}`;
    if (this.#keys.has(id)) return Promise.resolve(true);
    const inFlight = this.#inFlight.get(id);
    if (inFlight !== undefined) return inFlight;
    const refused = this.#refused.get(id);
    if (this.fetch === undefined || (refused !== undefined && Date.now() < refused.retryAtMs))
      return Promise.resolve(false);
    const fetch = this.fetch;
    const requestId = this.#requestIds.get(id) ?? randomRequestId();
    this.#requestIds.set(id, requestId);
    const p = (async () => {
      this.events.onRequest(serviceId, period);
      let r: ServiceKeyResult;
      try {
        r = await fetch(serviceId, period, requestId);
      } catch (err) {
        r = { ok: false, code: 'unreachable', retryable: true };
        this.log.warn({ err: String(err), serviceId, period }, 'service key request failed');
      }
      if (r.ok) {
        this.#keys.set(id, r.key);
        this.#refused.delete(id);
        this.#requestIds.delete(id);
        this.log.info({ serviceId, period }, 'service key received');
        this.events.onKey(serviceId, period);
        return true;
      }
      this.#refused.set(id, {
        code: r.code,
        retryAtMs: r.retryable ? Date.now() + RETRY_AFTER_MS : Infinity,
      });
      this.log.info(
        { serviceId, period, code: r.code },
        'no service key: segment keys are asked for one by one',
      );
      this.events.onRefusal(serviceId, period, r.code);
      return false;
    })().finally(() => this.#inFlight.delete(id));
    this.#inFlight.set(id, p);
    return p;
  }
}

/** The fetcher for a Receiver: `client.requestServiceKey` with the pair's requestId. */
export function serviceKeyFetcher(client: KeyServerClient): ServiceKeyFetcher {
  return async (serviceId, period, requestId) => {
    const r = await client.requestServiceKey(serviceId, period, requestId);
    return r.ok ? { ok: true, key: r.serviceKey } : { ok: false, code: r.code, retryable: r.retryable };
  };
}
