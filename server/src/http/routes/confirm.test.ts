/**
 * `POST /v1/sessions/:sid/confirm` on the real app and store (SQLite in project `unit`, Redis in
 * project `redis`): a strong-factor confirmation clears the step-up, is recorded in the audit
 * trail in the same atomic step, reaches the device's view of its session, and produces the CAEP
 * events that follow; only the opening relying party may confirm, and never a terminated session.
 */
import { confirmationEvents } from '../../testing/expected-events';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ASSURANCE } from '../../domain/assurance';
import { EVENT_TYPES, SUPPORTED_EVENTS } from '../../ssf/events';
import {
  KEYS,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  deviceCall,
  expectError,
  introspect,
  requestToken,
  snapshot,
  type Harness,
} from '../../testing/harness';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const confirm = (sid: string, at: number = h.clock.now(), key: string = KEYS.bankA) =>
  h.call('POST', `/v1/sessions/${sid}/confirm`, {
    key,
    json: { method: 'webauthn', at: new Date(at).toISOString() },
  });
const decision = (sid: string) =>
  h.call('POST', `/v1/sessions/${sid}/decision`, { key: KEYS.bankA });

/** A bound session whose device has driven the assurance below the step-up threshold. */
async function steppedUp() {
  const s = await boundSession(h);
  await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.95 });
  await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.3 });
  expect((await decision(s.sid)).json).toMatchObject({ action: 'step-up', assurance: 0.3 });
  return s;
}

describe('POST /v1/sessions/:sid/confirm', () => {
  it('clears the step-up: confirmed assurance, audit record, device view, introspection', async () => {
    const s = await steppedUp();
    h.clock.advance(2000);
    const res = await confirm(s.sid, h.clock.now() - 500);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      sessionId: s.sid,
      confirmedAt: new Date(h.clock.now()).toISOString(),
      assurance: ASSURANCE.confirmed,
      level: 'high',
    });
    expect((await h.store.getSession(s.sid))?.confirmedAt).toBe(h.clock.now());

    // The audit record, with the bank's own time of verification.
    const record = (await auditRecords(h)).find((r) => r.type === 'session.confirmed');
    expect(record).toMatchObject({
      actor: 'rp:bank-a',
      data: {
        sid: s.sid,
        method: 'webauthn',
        at: new Date(h.clock.now() - 500).toISOString(),
        assurance: ASSURANCE.confirmed,
        level: 'high',
      },
    });

    // The decision allows again, introspection says so, and so does the device's view.
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'allow',
      reasons: [],
      assurance: ASSURANCE.confirmed,
      level: 'high',
    });
    const token = (await requestToken(h, s.sid)).json.token as string;
    expect((await introspect(h, token)).json).toMatchObject({
      tacit_assurance: ASSURANCE.confirmed,
      tacit_level: 'high',
      tacit_action: 'allow',
      tacit_confirmed_at: Math.floor(h.clock.now() / 1000),
    });
    const view = await deviceCall(h, s.device, 'GET', `/v1/device/sessions/${s.sid}`);
    expect(view.json).toMatchObject({
      status: 'active',
      assurance: ASSURANCE.confirmed,
      confirmed: true,
      confirmedAt: new Date(h.clock.now()).toISOString(),
    });

    // The next attestation (from a device that reset its decision) speaks for the session again.
    h.clock.advance(1000);
    await attest(h, s.device, { sid: s.sid, seq: 3, conf: 0.93 });
    expect((await decision(s.sid)).json).toMatchObject({ action: 'allow', assurance: 0.93 });
    // And if the person changes again, the step-up comes back.
    await attest(h, s.device, { sid: s.sid, seq: 4, conf: 0.4 });
    expect((await decision(s.sid)).json).toMatchObject({ action: 'step-up', assurance: 0.4 });
  });

  it('the confirmed assurance decays like an attestation and goes stale without one', async () => {
    const s = await steppedUp();
    expect((await confirm(s.sid)).status).toBe(200);
    h.clock.advance(30_000 + 60_000); // grace, then one time constant
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'step-up',
      reasons: ['ASSURANCE_BELOW_STEP_UP'],
      assurance: Math.round(ASSURANCE.confirmed * Math.exp(-1) * 1e4) / 1e4,
    });
    h.clock.advance(31_000); // 121 s after the confirmation: stale as well
    expect((await decision(s.sid)).json.reasons).toContain('SESSION_STALE');
  });

  it('another relying party → 404 ERR_UNKNOWN_SESSION, nothing written', async () => {
    const s = await steppedUp();
    const before = await snapshot(h, s.sid);
    const audit = (await auditRecords(h)).length;
    expectError(await confirm(s.sid, h.clock.now(), KEYS.bankB), 404, 'ERR_UNKNOWN_SESSION');
    expectError(await confirm('no-such-session'), 404, 'ERR_UNKNOWN_SESSION');
    expect(await snapshot(h, s.sid)).toEqual(before);
    expect(await auditRecords(h)).toHaveLength(audit);
  });

  it('a terminated session → 410 ERR_SESSION_TERMINATED; an ended one → 410 ERR_SESSION_EXPIRED', async () => {
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.1 });
    expect((await decision(s.sid)).json.action).toBe('terminate');
    const before = await snapshot(h, s.sid);
    expectError(await confirm(s.sid), 410, 'ERR_SESSION_TERMINATED');
    expect(await snapshot(h, s.sid)).toEqual(before);
    expect((await auditRecords(h)).some((r) => r.type === 'session.confirmed')).toBe(false);

    const ended = await boundSession(h, 'bob');
    expect((await h.call('DELETE', `/v1/sessions/${ended.sid}`, { key: KEYS.bankA })).status).toBe(
      204,
    );
    expectError(await confirm(ended.sid), 410, 'ERR_SESSION_EXPIRED');
  });

  it('refuses a stale confirmation, an unknown method, and a caller without a bank key', async () => {
    const s = await steppedUp();
    const before = await snapshot(h, s.sid);
    expectError(await confirm(s.sid, h.clock.now() - 61_000), 400, 'ERR_STALE');
    expectError(await confirm(s.sid, h.clock.now() + 61_000), 400, 'ERR_STALE');
    for (const json of [
      { method: 'sms', at: new Date(h.clock.now()).toISOString() },
      { method: 'webauthn' },
      { method: 'webauthn', at: 'yesterday' },
      { method: 'webauthn', at: new Date(h.clock.now()).toISOString(), extra: 1 },
    ]) {
      const res = await h.call('POST', `/v1/sessions/${s.sid}/confirm`, { key: KEYS.bankA, json });
      expectError(res, 400, 'ERR_BAD_REQUEST');
    }
    const anonymous = await h.call('POST', `/v1/sessions/${s.sid}/confirm`, {
      json: { method: 'webauthn', at: new Date(h.clock.now()).toISOString() },
    });
    expect(anonymous.status).toBe(401);
    expect(await snapshot(h, s.sid)).toEqual(before);
  });

  it('CAEP: risk level back to LOW and the confirmed assurance level, signed for the stream', async () => {
    const created = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { delivery: { method: 'urn:ietf:rfc:8936' }, events_requested: SUPPORTED_EVENTS },
    });
    expect(created.status, created.text).toBe(201);
    const streamId = created.json.stream_id as string;
    const s = await steppedUp();
    expect((await confirm(s.sid)).status).toBe(200);

    const polled = await h.call('POST', `/v1/ssf/poll/${streamId}`, {
      key: KEYS.bankA,
      json: { returnImmediately: true, maxEvents: 50 },
    });
    expect(polled.status, polled.text).toBe(200);
    const jwks = createLocalJWKSet((await h.call('GET', '/.well-known/jwks.json')).json);
    const payloads: JWTPayload[] = [];
    for (const set of Object.values(polled.json.sets as Record<string, string>)) {
      const { payload } = await jwtVerify(set, jwks, {
        issuer: h.issuer,
        audience: 'bank-a',
        typ: 'secevent+jwt',
        algorithms: ['ES256'],
        currentDate: new Date(h.clock.now()),
      });
      payloads.push(payload);
    }
    const events = payloads
      .sort((a, b) => Number(String(a.txn).slice(6)) - Number(String(b.txn).slice(6)))
      .map((p) => Object.entries(p.events as Record<string, Record<string, unknown>>)[0]!);
    const confirmedSeq = (await auditRecords(h)).find((r) => r.type === 'session.confirmed')!.seq;
    const fromConfirmation = payloads
      .filter((p) => p.txn === `audit:${confirmedSeq}`)
      .map((p) => Object.entries(p.events as Record<string, Record<string, unknown>>)[0]!);
    expect(fromConfirmation).toEqual(confirmationEvents());
    // The last risk level the bank heard of is LOW again.
    const risks = events.filter(([type]) => type === EVENT_TYPES.riskLevelChange);
    expect(risks.at(-1)![1].current_level).toBe('LOW');
  });
});
