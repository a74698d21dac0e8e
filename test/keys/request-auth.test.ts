import { describe, expect, it } from 'vitest';
import { asClientId } from '../../src/ids.js';
import { deriveRequestMacKey, generateClientKey } from '../../src/keys/client-key.js';
import {
  isFreshTimestamp,
  parseAuthHeaders,
  requestMacInput,
  signRequest,
  verifyRequestMac,
} from '../../src/keys/request-auth.js';

describe('request MAC', () => {
  const macKey = deriveRequestMacKey(generateClientKey());
  const req = { method: 'post', path: '/v1/keys/segment', body: '{"a":1}', timestampMs: 1_700_000_000_000 };

  it('canonical input is METHOD, path, timestamp, nonce, sha256hex(body), newline-separated', () => {
    expect(requestMacInput({ ...req, nonceHex: 'ab'.repeat(16), body: '' })).toBe(
      `POST\n/v1/keys/segment\n1700000000000\n${'ab'.repeat(16)}\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`,
    );
  });

  it('signs and verifies; any change to method, path, time, nonce or body breaks it', () => {
    const h = signRequest(macKey, asClientId(7), req);
    const p = parseAuthHeaders(h);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.auth.clientId).toBe(7);
    const signed = { ...req, nonceHex: p.auth.nonceHex };
    expect(verifyRequestMac(macKey, signed, p.auth.mac)).toBe(true);
    for (const change of [
      { method: 'GET' },
      { path: '/v1/keys/segment?x' },
      { timestampMs: 1 },
      { nonceHex: '00'.repeat(16) },
      { body: '{"a":2}' },
    ]) {
      expect(verifyRequestMac(macKey, { ...signed, ...change }, p.auth.mac)).toBe(false);
    }
    expect(signRequest(macKey, asClientId(7), req)['x-keycast-nonce']).not.toBe(h['x-keycast-nonce']);
  });

  it('parses headers strictly', () => {
    expect(parseAuthHeaders({})).toEqual({ ok: false, reason: 'unknown_client' });
    expect(parseAuthHeaders({ 'x-keycast-client': 'abc' })).toEqual({ ok: false, reason: 'unknown_client' });
    expect(parseAuthHeaders({ 'x-keycast-client': '5' })).toEqual({
      ok: false,
      reason: 'bad_mac',
      clientId: 5,
    });
    const h = signRequest(macKey, asClientId(5), req);
    expect(parseAuthHeaders({ ...h, 'x-keycast-mac': 'zz' })).toMatchObject({ ok: false, reason: 'bad_mac' });
  });

  it('the window is ±30 s', () => {
    expect(isFreshTimestamp(0, 30_000)).toBe(true);
    expect(isFreshTimestamp(0, 30_001)).toBe(false);
    expect(isFreshTimestamp(60_001, 30_000)).toBe(false);
  });
});
