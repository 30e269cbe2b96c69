import { BlockList } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRateLimiter, type RateLimitConfig } from './';
import {
  KEYS,
  TestDevice,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  expectError,
  snapshot,
  type Harness,
} from '../../../testing/harness';
import { counterValue } from '../../../observability/metrics';

describe('MemoryRateLimiter', () => {
  it('fixed windows: counts, refuses past the limit, resets at the window boundary', async () => {
    const l = new MemoryRateLimiter();
    const w = 60_000;
    const t = 10 * w + 1_000;
    expect(await l.hit('k', 2, w, t)).toEqual({ allowed: true, remaining: 1, resetAt: 11 * w });
    expect(await l.hit('k', 2, w, t + 1)).toEqual({ allowed: true, remaining: 0, resetAt: 11 * w });
    expect(await l.hit('k', 2, w, t + 2)).toEqual({
      allowed: false,
      remaining: 0,
      resetAt: 11 * w,
    });
    expect((await l.hit('other', 2, w, t + 3)).allowed).toBe(true);
    expect(await l.hit('k', 2, w, 11 * w)).toEqual({
      allowed: true,
      remaining: 1,
      resetAt: 12 * w,
    });
  });

  it('keeps at most maxKeys counters, dropping old windows first', async () => {
    const l = new MemoryRateLimiter(3);
    await l.hit('a', 5, 1000, 0);
    await l.hit('b', 5, 1000, 0);
    await l.hit('c', 5, 1000, 1500);
    await l.hit('d', 5, 1000, 1600); // a and b are of an old window
    expect(l.size).toBe(2);
    await l.hit('e', 5, 1000, 1700);
    await l.hit('f', 5, 1000, 1800); // all current: the oldest goes
    expect(l.size).toBe(3);
  });
});

const LIMITS: RateLimitConfig = { windowMs: 60_000, rp: 3, device: 2, address: 4 };

describe('rate limiting of /v1/*', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('per relying party: 429 ERR_RATE_LIMITED with Retry-After; other RPs unaffected; resets', async () => {
    h = await createHarness({ rateLimits: LIMITS });
    const open = (key: string) => h.call('POST', '/v1/sessions', { key, json: { subject: 'a' } });
    for (let i = 0; i < 3; i++) expect((await open(KEYS.bankA)).status).toBe(201);
    h.clock.advance(15_000);
    const before = await snapshot(h);
    const audit = (await auditRecords(h)).length;
    const refused = await open(KEYS.bankA);
    expectError(refused, 429, 'ERR_RATE_LIMITED');
    // T0 is a whole minute: the window ends 45 s later.
    expect(refused.headers.get('retry-after')).toBe('45');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(await snapshot(h)).toEqual(before);
    expect((await auditRecords(h)).length).toBe(audit);
    expect((await open(KEYS.bankB)).status).toBe(201);
    // Every endpoint of the RP counts against the same bucket.
    expectError(
      await h.call('GET', '/v1/devices?subject=a', { key: KEYS.bankA }),
      429,
      'ERR_RATE_LIMITED',
    );
    h.clock.advance(45_000);
    expect((await open(KEYS.bankA)).status).toBe(201);
    expect(await counterValue(h.metrics.rateLimited, { class: 'rp' })).toBe(2);
    expect(h.logger.records.at(-1)).toMatchObject({ event: 'request', status: 201 });
    expect(h.logger.records.find((r) => r.status === 429)).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      route: '/v1/sessions',
    });
  });

  it('per device key for attestations and bindings, before any verification', async () => {
    h = await createHarness({ rateLimits: { ...LIMITS, rp: 100, address: 100 } });
    const s = await boundSession(h); // one binding already counted for this device
    expect((await attest(h, s.device, { sid: s.sid, seq: 1 })).status).toBe(202);
    const before = await snapshot(h, s.sid);
    const res = await attest(h, s.device, { sid: s.sid, seq: 2 });
    expectError(res, 429, 'ERR_RATE_LIMITED');
    expect(await snapshot(h, s.sid)).toEqual(before);
    // Another device is not affected.
    const other = await boundSession(h, 'bob');
    expect((await attest(h, other.device, { sid: other.sid, seq: 1 })).status).toBe(202);
    expect(await counterValue(h.metrics.rateLimited, { class: 'device' })).toBe(1);
    // A 429 is not an attestation outcome (the statement was not looked at).
    expect(await counterValue(h.metrics.attestationsRejected, { code: 'ERR_RATE_LIMITED' })).toBe(
      0,
    );
  });

  it('per remote address for unauthenticated calls (enrollment, bad API keys)', async () => {
    h = await createHarness({ rateLimits: LIMITS });
    const device = await TestDevice.create(h.clock);
    const enroll = async (remote: string) =>
      h.call('POST', '/v1/devices', {
        json: { enrollment: await device.enrollment('AAAAA-AAAAA') },
        remote,
      });
    for (let i = 0; i < 4; i++)
      expectError(await enroll('203.0.113.7'), 400, 'ERR_ENROLLMENT_CODE');
    expectError(await enroll('203.0.113.7'), 429, 'ERR_RATE_LIMITED');
    expectError(await enroll('198.51.100.1'), 400, 'ERR_ENROLLMENT_CODE');
    // Guessing API keys counts against the address, not against any RP.
    const guess = await h.call('POST', '/v1/sessions', {
      key: 'guess-0123456789abcdef',
      json: { subject: 'a' },
      remote: '203.0.113.7',
    });
    expectError(guess, 429, 'ERR_RATE_LIMITED');
    expect(
      (
        await h.call('POST', '/v1/sessions', {
          key: KEYS.bankA,
          json: { subject: 'a' },
          remote: '203.0.113.7',
        })
      ).status,
    ).toBe(201);
    expect(await counterValue(h.metrics.rateLimited, { class: 'address' })).toBe(2);
  });

  it('minting random kids does not escape the address bucket', async () => {
    h = await createHarness({ rateLimits: LIMITS });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const d = await TestDevice.create(h.clock);
      const res = await h.call('POST', '/v1/attestations', {
        json: { attestation: await d.attestation({ sid: 'x', seq: 1 }) },
        remote: '203.0.113.9',
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([404, 404, 404, 404, 429, 429]);
  });

  it('X-Forwarded-For is used only when the proxy is trusted', async () => {
    const enroll = (xff: string) =>
      h.call('POST', '/v1/devices', {
        json: { enrollment: 'x' },
        remote: '10.0.0.1',
        headers: { 'x-forwarded-for': xff },
      });
    h = await createHarness({ rateLimits: { ...LIMITS, address: 1 } });
    expect((await enroll('198.51.100.1')).status).toBe(400);
    expect((await enroll('198.51.100.2')).status).toBe(429); // both are 10.0.0.1
    await h.close();
    const proxies = new BlockList();
    proxies.addAddress('10.0.0.1');
    h = await createHarness({ rateLimits: { ...LIMITS, address: 1 }, trustProxy: proxies });
    expect((await enroll('1.1.1.1, 198.51.100.1')).status).toBe(400);
    expect((await enroll('198.51.100.2')).status).toBe(400);
    expect((await enroll('9.9.9.9, 198.51.100.1')).status).toBe(429); // last entry counts
  });

  it('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const proxies = new BlockList();
    proxies.addSubnet('10.0.0.0', 24);
    h = await createHarness({ rateLimits: { ...LIMITS, address: 1 }, trustProxy: proxies });
    const enroll = (remote: string, xff: string) =>
      h.call('POST', '/v1/devices', {
        json: { enrollment: 'x' },
        remote,
        headers: { 'x-forwarded-for': xff },
      });
    // A client that talks to the server directly cannot pick a fresh address per request.
    expect((await enroll('203.0.113.7', '198.51.100.1')).status).toBe(400);
    expect((await enroll('203.0.113.7', '198.51.100.2')).status).toBe(429);
    // The proxy (in the trusted network, also as IPv4-mapped IPv6) speaks for its clients.
    expect((await enroll('10.0.0.5', '198.51.100.3')).status).toBe(400);
    expect((await enroll('::ffff:10.0.0.6', '198.51.100.4')).status).toBe(400);
    expect((await enroll('::ffff:10.0.0.6', '198.51.100.4')).status).toBe(429);
  });

  it('probes and metrics are not limited', async () => {
    h = await createHarness({ rateLimits: { windowMs: 60_000, rp: 1, device: 1, address: 1 } });
    for (let i = 0; i < 3; i++) {
      expect((await h.call('GET', '/healthz')).status).toBe(200);
      expect((await h.call('GET', '/metrics', { key: KEYS.admin })).status).toBe(200);
    }
  });
});
