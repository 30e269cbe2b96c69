/**
 * The SDK's Shared Signals calls and its SET verification, against the real verifier (the
 * harness): a poll stream's life through the client, and every refusal rule of
 * `security-event.ts`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attest,
  boundSession,
  createHarness,
  TestDevice,
  type Harness,
} from '../src/testing/harness';
import { bankAClient } from './testing';
import type { TacitClient } from './index';

let h: Harness;
let tacit: TacitClient;
beforeEach(async () => {
  h = await createHarness();
  tacit = bankAClient(h);
});
afterEach(() => h.close());

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'resolved';
};

describe('SDK Shared Signals', () => {
  it('creates a poll stream, holds events while paused, polls, verifies and acknowledges', async () => {
    const stream = await tacit.createStream({
      delivery: { method: 'urn:ietf:rfc:8936' },
      eventsRequested: [`${CAEP}assurance-level-change`],
    });
    expect(stream.events_delivered).toEqual([`${CAEP}assurance-level-change`]);
    await tacit.setStreamStatus(stream.stream_id, 'paused', 'testing');
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const options = { returnImmediately: true };
    expect(await tacit.pollEvents(stream.stream_id, options)).toEqual({
      sets: {},
      moreAvailable: false,
    });
    await tacit.setStreamStatus(stream.stream_id, 'enabled');
    const { sets } = await tacit.pollEvents(stream.stream_id, options);
    const [[jti, set]] = Object.entries(sets) as [[string, string]];
    const event = await tacit.verifySecurityEvent(set);
    expect(event).toMatchObject({
      jti,
      iss: h.issuer,
      aud: 'bank-a',
      type: `${CAEP}assurance-level-change`,
      event: { current_level: 'high', namespace: 'custom' },
      subId: { format: 'complex', session: { format: 'opaque', id: s.sid } },
    });
    expect(await tacit.pollEvents(stream.stream_id, { ...options, ack: [jti] })).toEqual({
      sets: {},
      moreAvailable: false,
    });
    await tacit.deleteStream(stream.stream_id);
    expect(await tacit.listStreams()).toEqual([]);
    expect(await codeOf(tacit.verifyStream(stream.stream_id))).toBe('ERR_API');
  });

  it('refuses what is not a SET of this verifier for this relying party', async () => {
    const stream = await tacit.createStream({
      delivery: { method: 'urn:ietf:rfc:8936' },
      eventsRequested: [],
    });
    await tacit.verifyStream(stream.stream_id, 'x');
    const set = Object.values(
      (await tacit.pollEvents(stream.stream_id, { returnImmediately: true })).sets,
    )[0]!;
    expect((await tacit.verifySecurityEvent(set)).event).toEqual({ state: 'x' });
    const [header, payload, signature] = set.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const device = await TestDevice.create(h.clock);
    const resign = (c: Record<string, unknown>, hdr: Record<string, unknown> = {}) =>
      device.sign(
        {
          typ: 'secevent+jwt',
          kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid,
          ...hdr,
        },
        c,
      );
    // Another key under the verifier's kid: the signature fails.
    expect(await codeOf(tacit.verifySecurityEvent(await resign(claims)))).toBe(
      'ERR_TOKEN_SIGNATURE',
    );
    // A payload changed under the verifier's signature.
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, aud: 'bank-b' })).toString('base64url')}.${signature}`;
    expect(await codeOf(tacit.verifySecurityEvent(tampered))).toBe('ERR_TOKEN_SIGNATURE');
    // Wrong typ, unknown kid, not a JWS: refused before any key is used.
    expect(await codeOf(tacit.verifySecurityEvent(await resign(claims, { typ: 'JWT' })))).toBe(
      'ERR_TOKEN_TYP',
    );
    expect(await codeOf(tacit.verifySecurityEvent(await resign(claims, { kid: 'nope' })))).toBe(
      'ERR_TOKEN_KID',
    );
    expect(await codeOf(tacit.verifySecurityEvent('a.b'))).toBe('ERR_TOKEN_MALFORMED');
    // A real SET for another relying party.
    const other = await h.services.transmitter.sign(
      { ...(await h.store.ssf.getStream(stream.stream_id))!, aud: 'bank-b' },
      'https://schemas.openid.net/secevent/ssf/event-type/verification',
      {},
      { subId: { format: 'opaque', id: 'x' } },
    );
    expect(await codeOf(tacit.verifySecurityEvent(other.set))).toBe('ERR_TOKEN_CLAIMS');
  });
});
