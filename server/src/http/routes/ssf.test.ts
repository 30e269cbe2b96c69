/**
 * Shared Signals over HTTP, on the real app and store: SETs exactly as RFC 8417 / SSF 1.0 /
 * CAEP 1.0 require, stream management, poll acknowledgement (RFC 8936), push with retries,
 * dead letters and paused streams (RFC 8935) against a real HTTP receiver on loopback.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { counterValue } from '../../observability/metrics';
import { EVENT_TYPES, SUPPORTED_EVENTS } from '../../ssf/events';
import {
  KEYS,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  expectError,
  type Harness,
  type HarnessOptions,
} from '../../testing/harness';

const PUSH = 'urn:ietf:rfc:8935';
const POLL = 'urn:ietf:rfc:8936';
const CAEP = [
  EVENT_TYPES.riskLevelChange,
  EVENT_TYPES.assuranceLevelChange,
  EVENT_TYPES.sessionRevoked,
];

/** A real receiver on loopback answering `status` (changeable), recording what it got. */
interface Receiver {
  url: string;
  status: number;
  got: { headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}
async function receiver(status: number): Promise<Receiver> {
  const r = { status, got: [] } as unknown as Receiver;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      r.got.push({ headers: req.headers, body });
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.status === 400 ? '{"err":"invalid_key","description":"unknown kid"}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  r.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return r;
}

let h: Harness;
let rx: Receiver | undefined;
const start = async (o: HarnessOptions = {}) => {
  h = await createHarness({
    ssfDelivery: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 4000, timeoutMs: 2000 },
    ...o,
  });
};
beforeEach(() => start());
afterEach(async () => {
  await rx?.close();
  rx = undefined;
  await h.close();
});

const createStream = async (delivery: Record<string, unknown>, key: string = KEYS.bankA) => {
  const res = await h.call('POST', '/v1/ssf/streams', {
    key,
    json: { delivery, events_requested: [...SUPPORTED_EVENTS, 'https://example.com/unknown'] },
  });
  expect(res.status, res.text).toBe(201);
  return res.json as { stream_id: string; delivery: { endpoint_url: string } };
};
const poll = async (id: string, body: Record<string, unknown> = {}, key: string = KEYS.bankA) => {
  const res = await h.call('POST', `/v1/ssf/poll/${id}`, {
    key,
    json: { returnImmediately: true, ...body },
  });
  expect(res.status, res.text).toBe(200);
  return res.json as { sets: Record<string, string>; moreAvailable: boolean };
};
/** Verifies a SET as a receiver must: signature by the JWKS, typ, iss, aud. */
const verifySet = async (set: string, aud = 'bank-a') => {
  const jwks = createLocalJWKSet((await h.call('GET', '/.well-known/jwks.json')).json);
  const { payload, protectedHeader } = await jwtVerify(set, jwks, {
    issuer: h.issuer,
    audience: aud,
    typ: 'secevent+jwt',
    algorithms: ['ES256'],
    currentDate: new Date(h.clock.now()),
  });
  return { payload, protectedHeader };
};
const eventOf = (p: JWTPayload) => {
  const events = p.events as Record<string, Record<string, unknown>>;
  const [type, body] = Object.entries(events)[0]!;
  return { type, body };
};

describe('SSF configuration and streams', () => {
  it('publishes the transmitter metadata', async () => {
    const res = await h.call('GET', '/.well-known/ssf-configuration');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      spec_version: '1_0',
      issuer: h.issuer,
      jwks_uri: `${h.issuer}/.well-known/jwks.json`,
      delivery_methods_supported: [PUSH, POLL],
      configuration_endpoint: `${h.issuer}/v1/ssf/streams`,
      status_endpoint: `${h.issuer}/v1/ssf/status`,
      verification_endpoint: `${h.issuer}/v1/ssf/verify`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
    });
  });

  it('creates, reads, updates, replaces and deletes a stream; other banks see none of it', async () => {
    const created = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: {
        delivery: {
          method: PUSH,
          endpoint_url: 'https://bank-a.example/ssf',
          authorization_header: 'Bearer receiver-secret',
        },
        events_requested: [EVENT_TYPES.sessionRevoked, 'https://example.com/other'],
        description: 'fraud desk',
      },
    });
    expect(created.status).toBe(201);
    const id = created.json.stream_id as string;
    expect(created.json).toEqual({
      stream_id: id,
      iss: h.issuer,
      aud: 'bank-a',
      delivery: { method: PUSH, endpoint_url: 'https://bank-a.example/ssf' },
      events_supported: SUPPORTED_EVENTS,
      events_requested: [EVENT_TYPES.sessionRevoked, 'https://example.com/other'],
      events_delivered: [EVENT_TYPES.sessionRevoked],
      description: 'fraud desk',
    });
    // The receiver's authorization header is never echoed.
    expect(created.text).not.toContain('receiver-secret');

    expect(
      (await h.call('GET', `/v1/ssf/streams?stream_id=${id}`, { key: KEYS.bankA })).json,
    ).toEqual(created.json);
    expect((await h.call('GET', '/v1/ssf/streams', { key: KEYS.bankA })).json).toEqual([
      created.json,
    ]);
    expect((await h.call('GET', '/v1/ssf/streams', { key: KEYS.bankB })).json).toEqual([]);
    for (const [method, path, json] of [
      ['GET', `/v1/ssf/streams?stream_id=${id}`, undefined],
      ['PATCH', '/v1/ssf/streams', { stream_id: id, description: 'mine now' }],
      ['GET', `/v1/ssf/status?stream_id=${id}`, undefined],
      ['POST', '/v1/ssf/status', { stream_id: id, status: 'disabled' }],
      ['POST', '/v1/ssf/verify', { stream_id: id }],
      ['POST', `/v1/ssf/poll/${id}`, { returnImmediately: true }],
      ['GET', `/v1/ssf/dead-letters?stream_id=${id}`, undefined],
      ['DELETE', `/v1/ssf/streams?stream_id=${id}`, undefined],
    ] as const) {
      expectError(await h.call(method, path, { key: KEYS.bankB, json }), 404, 'ERR_UNKNOWN_STREAM');
    }

    const patched = await h.call('PATCH', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { stream_id: id, events_requested: CAEP },
    });
    expect(patched.json.events_delivered).toEqual(CAEP);
    expect(patched.json.description).toBe('fraud desk');
    const replaced = await h.call('PUT', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { stream_id: id, delivery: { method: POLL } },
    });
    expect(replaced.json).toMatchObject({
      events_requested: [],
      events_delivered: [],
      delivery: { method: POLL, endpoint_url: `${h.issuer}/v1/ssf/poll/${id}` },
    });
    expect(replaced.json.description).toBeUndefined();

    expect(
      (await h.call('GET', `/v1/ssf/status?stream_id=${id}`, { key: KEYS.bankA })).json,
    ).toEqual({ stream_id: id, status: 'enabled' });
    const paused = await h.call('POST', '/v1/ssf/status', {
      key: KEYS.bankA,
      json: { stream_id: id, status: 'paused', reason: 'maintenance' },
    });
    expect(paused.json).toEqual({ stream_id: id, status: 'paused', reason: 'maintenance' });

    const deleted = await h.call('DELETE', `/v1/ssf/streams?stream_id=${id}`, { key: KEYS.bankA });
    expect(deleted.status).toBe(204);
    expectError(
      await h.call('GET', `/v1/ssf/streams?stream_id=${id}`, { key: KEYS.bankA }),
      404,
      'ERR_UNKNOWN_STREAM',
    );
  });

  it('refuses a plain-http push endpoint off loopback, a wrong key, and an 11th stream', async () => {
    const bad = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { delivery: { method: PUSH, endpoint_url: 'http://bank-a.example/ssf' } },
    });
    expectError(bad, 400, 'ERR_BAD_REQUEST');
    const noKey = await h.call('POST', '/v1/ssf/streams', { json: { delivery: { method: POLL } } });
    expectError(noKey, 401, 'ERR_UNAUTHORIZED');
    const auditor = await h.call('GET', '/v1/ssf/streams', { key: KEYS.auditor });
    expectError(auditor, 403, 'ERR_FORBIDDEN');
    for (let i = 0; i < 10; i++) await createStream({ method: POLL });
    const more = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { delivery: { method: POLL } },
    });
    expectError(more, 409, 'ERR_STREAM_LIMIT');
  });
});

describe('Security Event Tokens', () => {
  it('are signed by the JWKS, typ secevent+jwt, one event, sub_id, no sub and no exp', async () => {
    const { stream_id } = await createStream({ method: POLL });
    const s = await boundSession(h);
    expect((await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 })).status).toBe(202);
    expect((await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.1 })).status).toBe(202);
    const decided = await h.call('POST', `/v1/sessions/${s.sid}/decision`, { key: KEYS.bankA });
    expect(decided.json.action).toBe('terminate');

    const { sets } = await poll(stream_id, { maxEvents: 20 });
    const verified = await Promise.all(Object.values(sets).map((set) => verifySet(set)));
    for (const [jti, set] of Object.entries(sets)) {
      const header = decodeProtectedHeader(set);
      expect(header).toEqual({ alg: 'ES256', typ: 'secevent+jwt', kid: expect.any(String) });
      const { payload } = verified.find((v) => v.payload.jti === jti)!;
      expect(Object.keys(payload).sort()).toEqual([
        'aud',
        'events',
        'iat',
        'iss',
        'jti',
        'sub_id',
        'txn',
      ]);
      expect(payload).not.toHaveProperty('sub');
      expect(payload).not.toHaveProperty('exp');
      expect(Object.keys(payload.events as object)).toHaveLength(1);
      expect(payload.sub_id).toEqual({
        format: 'complex',
        session: { format: 'opaque', id: s.sid },
        user: { format: 'opaque', id: s.subject },
      });
      expect(payload.txn).toMatch(/^audit:\d+$/);
    }
    // In the order the changes committed.
    const events = verified.map((v) => eventOf(v.payload));
    const ts = expect.any(Number);
    expect(events).toEqual([
      {
        type: EVENT_TYPES.assuranceLevelChange,
        body: { namespace: 'custom', current_level: 'high', event_timestamp: ts },
      },
      {
        type: EVENT_TYPES.riskLevelChange,
        body: {
          principal: 'SESSION',
          current_level: 'LOW',
          risk_reason: 'ASSURANCE_ABOVE_STEP_UP',
          event_timestamp: ts,
        },
      },
      {
        type: EVENT_TYPES.assuranceLevelChange,
        body: {
          namespace: 'custom',
          current_level: 'low',
          previous_level: 'high',
          change_direction: 'decrease',
          event_timestamp: ts,
        },
      },
      {
        type: EVENT_TYPES.riskLevelChange,
        body: {
          principal: 'SESSION',
          current_level: 'HIGH',
          previous_level: 'LOW',
          risk_reason: 'ASSURANCE_BELOW_TERMINATE',
          event_timestamp: ts,
        },
      },
      {
        type: EVENT_TYPES.sessionRevoked,
        body: {
          initiating_entity: 'policy',
          reason_admin: { en: expect.stringMatching(/ASSURANCE_BELOW_TERMINATE/) },
          event_timestamp: ts,
        },
      },
    ]);
    // The txn names the audit record the change committed with.
    const records = await auditRecords(h);
    const revoked = verified.at(-1)!.payload;
    const terminated = records.find((r) => r.type === 'session.terminated')!;
    expect(revoked.txn).toBe(`audit:${terminated.seq}`);
  });

  it("go to the streams of the session's bank only, with the events each asked for", async () => {
    const a = await createStream({ method: POLL });
    const b = await createStream({ method: POLL }, KEYS.bankB);
    const onlyRevoked = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: { delivery: { method: POLL }, events_requested: [EVENT_TYPES.sessionRevoked] },
    });
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    expect(Object.keys((await poll(a.stream_id)).sets)).toHaveLength(2);
    expect((await poll(b.stream_id, {}, KEYS.bankB)).sets).toEqual({});
    expect((await poll(onlyRevoked.json.stream_id)).sets).toEqual({});
  });

  it('a poll acknowledges: acknowledged SETs are never returned again, the others are', async () => {
    const { stream_id } = await createStream({ method: POLL });
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.3 });
    const first = await poll(stream_id, { maxEvents: 3 });
    expect(Object.keys(first.sets)).toHaveLength(3);
    expect(first.moreAvailable).toBe(true);
    const [a, b, c] = Object.keys(first.sets);
    const second = await poll(stream_id, {
      maxEvents: 10,
      ack: [a, b],
      setErrs: { [c!]: { err: 'invalid_request', description: 'test' } },
    });
    const left = Object.keys(second.sets);
    expect(left).toHaveLength(1);
    expect(left).not.toContain(a);
    expect(left).not.toContain(c);
    expect(second.moreAvailable).toBe(false);
    expect((await poll(stream_id, { ack: left })).sets).toEqual({});
  });
});

describe('fan-out', () => {
  it("reads a session's rp and subject once: its later records need no session read", async () => {
    const { stream_id } = await createStream({ method: POLL });
    const s = await boundSession(h);
    expect((await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 })).status).toBe(202);
    await h.services.transmitter.fanOutAll();
    expect((await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.1 })).status).toBe(202);
    const reads = vi.spyOn(h.store, 'getSession');
    await h.services.transmitter.fanOutAll();
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    // Both attestations' changes reached the stream, with the session's subject.
    const { sets } = await poll(stream_id, { maxEvents: 20 });
    const verified = await Promise.all(Object.values(sets).map((set) => verifySet(set)));
    expect(verified.map((v) => eventOf(v.payload).type)).toEqual([
      EVENT_TYPES.assuranceLevelChange,
      EVENT_TYPES.riskLevelChange,
      EVENT_TYPES.assuranceLevelChange,
      EVENT_TYPES.riskLevelChange,
    ]);
    for (const v of verified) {
      expect(v.payload.sub_id).toMatchObject({ user: { format: 'opaque', id: s.subject } });
    }
  });
});

describe('push delivery (RFC 8935)', () => {
  it("POSTs application/secevent+jwt with the receiver's authorization; 202 removes it", async () => {
    rx = await receiver(202);
    const { stream_id } = await createStream({
      method: PUSH,
      endpoint_url: rx.url,
      authorization_header: 'Bearer receiver-secret',
    });
    const v = await h.call('POST', '/v1/ssf/verify', {
      key: KEYS.bankA,
      json: { stream_id, state: 'check-1' },
    });
    expect(v.status).toBe(204);
    await h.services.transmitter.fanOutAll();
    expect(await h.services.transmitter.pushOnce()).toBe(1);
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.headers['content-type']).toBe('application/secevent+jwt');
    expect(rx.got[0]!.headers.authorization).toBe('Bearer receiver-secret');
    const { payload } = await verifySet(rx.got[0]!.body);
    expect(eventOf(payload)).toEqual({
      type: EVENT_TYPES.verification,
      body: { state: 'check-1' },
    });
    expect(payload.sub_id).toEqual({ format: 'opaque', id: stream_id });
    expect(await h.services.transmitter.pushOnce()).toBe(0);
  });

  it('with the loop running, a change reaches the receiver within a second of its commit', async () => {
    rx = await receiver(202);
    await createStream({ method: PUSH, endpoint_url: rx.url });
    const s = await boundSession(h);
    h.services.transmitter.start(50);
    try {
      const started = performance.now();
      expect((await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 })).status).toBe(202);
      while (rx.got.length < 2 && performance.now() - started < 5000) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const ms = performance.now() - started;
      expect(rx.got).toHaveLength(2);
      expect(ms).toBeLessThan(1000);
    } finally {
      await h.services.transmitter.stop();
    }
  });

  it('a receiver answering 500 gets retries with back-off, then a dead-letter record', async () => {
    rx = await receiver(500);
    const { stream_id } = await createStream({ method: PUSH, endpoint_url: rx.url });
    await h.call('POST', '/v1/ssf/verify', { key: KEYS.bankA, json: { stream_id } });
    const t = h.services.transmitter;
    expect(await t.pushOnce()).toBe(1);
    // Back-off with jitter: attempt n waits base × 2^(n-1) × [½, 1).
    h.clock.advance(499);
    expect(await t.pushOnce()).toBe(0);
    h.clock.advance(501);
    expect(await t.pushOnce()).toBe(1);
    h.clock.advance(999);
    expect(await t.pushOnce()).toBe(0);
    h.clock.advance(1001);
    expect(await t.pushOnce()).toBe(1);
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((g) => g.body)).size).toBe(1);
    h.clock.advance(60_000);
    expect(await t.pushOnce()).toBe(0);
    const dead = await h.call('GET', `/v1/ssf/dead-letters?stream_id=${stream_id}`, {
      key: KEYS.bankA,
    });
    const jti = (await verifySet(rx.got[0]!.body)).payload.jti;
    expect(dead.json).toEqual({
      stream_id,
      dead_letters: [{ jti, attempts: 3, error: 'HTTP 500', failed_at: expect.any(String) }],
    });
    expect(await counterValue(h.metrics.ssfPush, { outcome: 'retry' })).toBe(2);
    expect(await counterValue(h.metrics.ssfPush, { outcome: 'dead' })).toBe(1);
    const record = (await auditRecords(h)).find((r) => r.type === 'ssf.delivery_failed');
    expect(record).toMatchObject({
      actor: 'system',
      data: { stream: stream_id, jti, attempts: 3, error: 'HTTP 500' },
    });
  });

  it('a 400 with the RFC 8935 error is a dead letter at once (retrying cannot help)', async () => {
    rx = await receiver(400);
    const { stream_id } = await createStream({ method: PUSH, endpoint_url: rx.url });
    await h.call('POST', '/v1/ssf/verify', { key: KEYS.bankA, json: { stream_id } });
    expect(await h.services.transmitter.pushOnce()).toBe(1);
    const dead = await h.call('GET', `/v1/ssf/dead-letters?stream_id=${stream_id}`, {
      key: KEYS.bankA,
    });
    expect(dead.json.dead_letters).toEqual([
      expect.objectContaining({ attempts: 1, error: 'HTTP 400 invalid_key' }),
    ]);
  });

  it('a paused stream gets nothing until resumed; a disabled one gets nothing at all', async () => {
    rx = await receiver(202);
    const { stream_id } = await createStream({ method: PUSH, endpoint_url: rx.url });
    const status = (st: string) =>
      h.call('POST', '/v1/ssf/status', { key: KEYS.bankA, json: { stream_id, status: st } });
    expect((await status('paused')).status).toBe(200);
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    await h.services.transmitter.fanOutAll();
    h.clock.advance(60_000);
    expect(await h.services.transmitter.pushOnce()).toBe(0);
    expect(rx.got).toHaveLength(0);
    await status('enabled');
    expect(await h.services.transmitter.pushOnce()).toBe(2);
    expect(rx.got).toHaveLength(2);

    await status('disabled');
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.3 });
    await h.services.transmitter.fanOutAll();
    await status('enabled');
    expect(await h.services.transmitter.pushOnce()).toBe(0);
    expect(rx.got).toHaveLength(2);
  });
});
