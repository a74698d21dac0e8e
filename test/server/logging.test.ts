// The server's pino log never contains key material: not the client key, not a PSK or CK, not even wrapped ones,
// nor request MACs.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { unwrapContentKeyForClient } from '../../src/keys/content-key.js';
import { unwrapSegmentKeyForClient } from '../../src/keys/segment-key.js';
import { createKeyServerLogger } from '../../src/server/logger.js';
import type { ContentKeyResponseBody, SegmentKeyResponseBody } from '../../src/server/wire.js';
import { grantSubscription } from '../../src/store/index.js';
import { contentKeyRequest, inject, segmentRequest, setup, signedHeaders, type Fixture } from './fixture.js';

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
});

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('key server logging', () => {
  it('logs requests but no keys, wrapped keys or MACs', async () => {
    const out = sink();
    const logger = pino({ level: 'trace' }, out.stream);
    f = await setup({ logger });
    await grantSubscription(f.store, {
      clientId: f.receiver.clientId,
      serviceId: f.service.id,
      period: '2026-12',
    });
    const ck = (await inject(f, f.sender, contentKeyRequest(f, 0))).json<ContentKeyResponseBody>();
    const r = segmentRequest(1, 0);
    const headers = signedHeaders(f, f.receiver, r);
    const seg = (
      await f.app.inject({
        method: 'POST',
        url: r.url,
        headers: { ...headers, authorization: 'secret' },
        payload: JSON.stringify(r.body),
      })
    ).json<SegmentKeyResponseBody>();
    await inject(f, f.receiver, segmentRequest(1, 9)); // a refusal too
    const text = out.text();
    expect(text).toContain('request completed');
    const psk = unwrapSegmentKeyForClient(f.receiver.clientKey, Buffer.from(seg.wrappedKey, 'base64'), {
      clientId: f.receiver.clientId,
      programmeId: 1,
      segment: 0,
      epoch: 0,
    });
    const clear = unwrapContentKeyForClient(
      f.sender.clientKey,
      Buffer.from(ck.wrappedContentKey, 'base64'),
      ck.profile,
      f.sender.clientId,
      1,
      ck.keyId,
    );
    if (!psk.ok || !clear.ok) throw new Error('unwrap failed');
    const forbidden = [
      seg.wrappedKey,
      ck.wrappedContentKey,
      ck.keyMessage,
      headers['x-keycast-mac']!,
      ...[
        psk.key,
        clear.key.masterKey,
        clear.key.masterSalt,
        f.receiver.clientKey,
        f.sender.clientKey,
        f.secrets.masterKey,
      ].flatMap((k) => [Buffer.from(k).toString('hex'), Buffer.from(k).toString('base64')]),
    ];
    for (const s of forbidden) expect(text).not.toContain(s);
  });

  it('redacts key-bearing fields even if someone logs them', () => {
    const out = sink();
    const log = createKeyServerLogger({ destination: out.stream });
    log.info(
      { ctx: { masterKey: 'deadbeef', wrappedKey: 'AAAA' }, req: { headers: { 'x-keycast-mac': 'ff' } } },
      'oops',
    );
    expect(out.text()).not.toMatch(/deadbeef|AAAA|"ff"/);
    expect(out.text()).toContain('[redacted]');
  });
});
