// Request authentication: every client request to the key server carries an HMAC-SHA256 under
// HKDF(UK, "keycast/v1/request-mac") over
//
//   `${METHOD}\n${path}\n${timestampMs}\n${nonceHex}\n${sha256hex(rawBody)}`
//
// where path is the request target as sent (path and query), timestampMs the client's clock in Unix ms (decimal),
// nonceHex 16 fresh random bytes as 32 lower-case hex digits, and the body hash is over the exact bytes sent (the
// empty string for GET). Headers: x-keycast-client (decimal id), x-keycast-timestamp, x-keycast-nonce,
// x-keycast-mac (64 lower-case hex digits). The server accepts timestamps within ±30 s of its clock and remembers
// nonces for that window, so a captured request cannot be replayed; a retry is re-signed with a fresh nonce.
import { constantTimeEqual, hmacSha256, sha256Hex } from '../crypto/mac.js';
import { randomHex } from '../crypto/random.js';
import { asClientId, type ClientId } from '../ids.js';

export const REQUEST_HEADER_CLIENT = 'x-keycast-client';
export const REQUEST_HEADER_TIMESTAMP = 'x-keycast-timestamp';
export const REQUEST_HEADER_NONCE = 'x-keycast-nonce';
export const REQUEST_HEADER_MAC = 'x-keycast-mac';
export const REQUEST_WINDOW_MS = 30_000;
export const REQUEST_NONCE_LENGTH_BYTES = 16;

export interface RequestToSign {
  readonly method: string;
  readonly path: string;
  readonly timestampMs: number;
  readonly nonceHex: string;
  readonly body: Uint8Array | string;
}

/** The exact string that is MACed. */
export function requestMacInput(r: RequestToSign): string {
  return `${r.method.toUpperCase()}\n${r.path}\n${r.timestampMs}\n${r.nonceHex}\n${sha256Hex(r.body)}`;
}

export function requestMac(macKey: Uint8Array, r: RequestToSign): Uint8Array {
  return hmacSha256(macKey, requestMacInput(r));
}

/** The four authentication headers for one request, with a fresh nonce unless one is given. */
export function signRequest(
  macKey: Uint8Array,
  clientId: ClientId,
  req: { method: string; path: string; body: Uint8Array | string; timestampMs: number; nonceHex?: string },
): Record<string, string> {
  const nonceHex = req.nonceHex ?? randomHex(REQUEST_NONCE_LENGTH_BYTES);
  const mac = requestMac(macKey, { ...req, nonceHex });
  return {
    [REQUEST_HEADER_CLIENT]: String(clientId),
    [REQUEST_HEADER_TIMESTAMP]: String(req.timestampMs),
    [REQUEST_HEADER_NONCE]: nonceHex,
    [REQUEST_HEADER_MAC]: Buffer.from(mac).toString('hex'),
  };
}

export interface AuthHeaders {
  readonly clientId: ClientId;
  readonly timestampMs: number;
  readonly nonceHex: string;
  readonly mac: Uint8Array;
}

export type ParseAuthHeadersResult =
  | { readonly ok: true; readonly auth: AuthHeaders }
  | { readonly ok: false; readonly reason: 'unknown_client' | 'bad_mac'; readonly clientId?: ClientId };

const DECIMAL_U32 = /^(0|[1-9][0-9]{0,9})$/;
const DECIMAL_MS = /^(0|[1-9][0-9]{0,15})$/;
const NONCE_HEX = /^[0-9a-f]{32}$/;
const MAC_HEX = /^[0-9a-f]{64}$/;

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Parse the authentication headers (untrusted). A missing or malformed client id is `unknown_client`; a missing or
 * malformed timestamp, nonce or MAC is `bad_mac` (carrying the claimed client id).
 */
export function parseAuthHeaders(
  headers: Record<string, string | string[] | undefined>,
): ParseAuthHeadersResult {
  const client = header(headers, REQUEST_HEADER_CLIENT);
  if (client === undefined || !DECIMAL_U32.test(client) || Number(client) > 0xffffffff) {
    return { ok: false, reason: 'unknown_client' };
  }
  const clientId = asClientId(Number(client));
  const ts = header(headers, REQUEST_HEADER_TIMESTAMP);
  const nonceHex = header(headers, REQUEST_HEADER_NONCE);
  const mac = header(headers, REQUEST_HEADER_MAC);
  if (
    ts === undefined ||
    !DECIMAL_MS.test(ts) ||
    nonceHex === undefined ||
    !NONCE_HEX.test(nonceHex) ||
    mac === undefined ||
    !MAC_HEX.test(mac)
  ) {
    return { ok: false, reason: 'bad_mac', clientId };
  }
  return {
    ok: true,
    auth: { clientId, timestampMs: Number(ts), nonceHex, mac: new Uint8Array(Buffer.from(mac, 'hex')) },
  };
}

/** True when `mac` is the MAC of the request under `macKey` (constant time). */
export function verifyRequestMac(macKey: Uint8Array, r: RequestToSign, mac: Uint8Array): boolean {
  return constantTimeEqual(requestMac(macKey, r), mac);
}

/** True when `timestampMs` is within ±REQUEST_WINDOW_MS of `nowMs`. */
export function isFreshTimestamp(timestampMs: number, nowMs: number): boolean {
  return Math.abs(nowMs - timestampMs) <= REQUEST_WINDOW_MS;
}
