import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CSP } from '../../app';
import {
  KEYS,
  attest,
  boundSession,
  createHarness,
  expectError,
  type Harness,
  type HarnessOptions,
} from '../../testing/harness';

let h: Harness;
afterEach(async () => {
  await h.close();
});
const start = async (options: HarnessOptions = {}) => {
  h = await createHarness(options);
};

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

describe('GET /readyz', () => {
  it('ready when the store answers and keys are loaded; 503 when the store is gone', async () => {
    await start();
    const ok = await h.call('GET', '/readyz');
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 'ready', checks: { store: 'ok', keys: 'ok' } });
    expect(ok.headers.get('cache-control')).toBe('no-store');
    await h.store.close();
    const down = await h.call('GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.json).toEqual({ status: 'unavailable', checks: { store: 'fail', keys: 'ok' } });
    expect(h.logger.records.some((r) => r.event === 'not_ready' && r.level === 'warn')).toBe(true);
  });
});

describe('GET /metrics', () => {
  it('admin key or the metrics token; bank and auditor keys are refused', async () => {
    await start({ metricsToken: METRICS_TOKEN });
    expectError(await h.call('GET', '/metrics'), 401, 'ERR_UNAUTHORIZED');
    expectError(
      await h.call('GET', '/metrics', { key: 'wrong-token-0123456789abc' }),
      401,
      'ERR_UNAUTHORIZED',
    );
    expectError(await h.call('GET', '/metrics', { key: KEYS.bankA }), 403, 'ERR_FORBIDDEN');
    expectError(await h.call('GET', '/metrics', { key: KEYS.auditor }), 403, 'ERR_FORBIDDEN');
    for (const key of [KEYS.admin, METRICS_TOKEN]) {
      const res = await h.call('GET', '/metrics', { key });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    }
  });

  it('without a configured token, only an admin key', async () => {
    await start();
    expectError(await h.call('GET', '/metrics', { key: METRICS_TOKEN }), 401, 'ERR_UNAUTHORIZED');
    expect((await h.call('GET', '/metrics', { key: KEYS.admin })).status).toBe(200);
  });

  it('counts requests by route pattern and status, attestations by outcome and code', async () => {
    await start();
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1 });
    await attest(h, s.device, { sid: s.sid, seq: 1 }); // replay
    await h.call('POST', `/v1/sessions/${s.sid}/token`, { key: KEYS.bankA });
    await h.call('GET', '/v1/nothing');
    const text = (await h.call('GET', '/metrics', { key: KEYS.admin })).text;
    expect(text).toContain('tacit_attestations_accepted_total 1\n');
    expect(text).toContain('tacit_attestations_rejected_total{code="ERR_REPLAY"} 1\n');
    expect(text).toContain(
      'tacit_http_requests_total{method="POST",route="/v1/attestations",status="202"} 1\n',
    );
    expect(text).toContain(
      'tacit_http_requests_total{method="POST",route="/v1/attestations",status="409"} 1\n',
    );
    expect(text).toContain(
      'tacit_http_requests_total{method="POST",route="/v1/sessions/:sid/token",status="200"} 1\n',
    );
    expect(text).toContain('route="(unmatched)",status="404"} 1\n');
    expect(text).toMatch(
      /tacit_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/v1\/attestations"\} 2\n/,
    );
    expect(text).toMatch(
      /tacit_http_request_duration_seconds_count\{method="POST",route="\/v1\/attestations"\} 2\n/,
    );
    // Ids never become label values.
    expect(text).not.toContain(s.sid);
    expect(text).not.toContain(s.device.jkt);
  });
});

describe('security headers', () => {
  it('on API answers, errors, probes and 404s', async () => {
    await start({ hsts: true });
    const answers = [
      await h.call('POST', '/v1/sessions', { key: KEYS.bankA, json: { subject: 'a' } }),
      await h.call('POST', '/v1/sessions', { json: { subject: 'a' } }),
      await h.call('GET', '/healthz'),
      await h.call('GET', '/nothing-here'),
      await h.call('GET', '/openapi.json'),
    ];
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toBe(DEFAULT_CSP);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
    }
  });

  it('the JWKS keeps its own cache policy; no HSTS over plain HTTP', async () => {
    await start();
    const res = await h.call('GET', '/.well-known/jwks.json');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });
});
