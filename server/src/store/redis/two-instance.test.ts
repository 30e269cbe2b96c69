/**
 * Two real server processes sharing one Redis (project `redis` only; its global setup
 * provides the Redis): every precondition holds across instances, and a token minted by one
 * introspects on the other (the signing keys live in the store).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../crypto/attestation';
import { manualClock } from '../../clock';
import { TestDevice } from '../../testing/harness';
import { startServerProcess, type ServerProcess } from '../../testing/server-process';
import { testRedisUrl } from '../../testing/test-store';

const BANK = 'bank-a-secret-0123456789abcdef';
const AUDITOR = 'auditor-secret-0123456789abcdef';

let a: ServerProcess | undefined;
let b: ServerProcess | undefined;

beforeAll(async () => {
  const env = {
    TACIT_STORE: 'redis',
    TACIT_REDIS_URL: testRedisUrl(),
    TACIT_REDIS_PREFIX: `tacit-two:${randomBytes(6).toString('hex')}:`,
    TACIT_API_KEYS: `bank-a:bank:${BANK},siem:auditor:${AUDITOR}`,
    // Behind one load balancer both have the same public name.
    TACIT_ISSUER: 'http://tacit.test',
  };
  // One after the other: the first generates the signing key, the second loads it.
  a = await startServerProcess(env);
  b = await startServerProcess(env);
}, 90_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

interface Reply {
  status: number;
  json: any;
}

async function call(
  server: ServerProcess | undefined,
  method: string,
  path: string,
  body?: unknown,
  key?: string,
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${server!.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('two instances on one Redis', () => {
  it('open on A; enroll, bind on B; replays refused on both; token of A active on B', async () => {
    // Device statements carry the wall-clock time, as the extension's would.
    const clock = manualClock(Date.now());
    const now = () => clock.set(Date.now());
    const device = await TestDevice.create(clock);

    const opened = await call(a, 'POST', '/v1/sessions', { subject: 'alice' }, BANK);
    expect(opened.status).toBe(201);
    const { sessionId: sid, challenge } = opened.json;
    const code = await call(a, 'POST', '/v1/enrollment-codes', { subject: 'alice' }, BANK);
    expect(code.status).toBe(201);

    now();
    const enrollment = await device.enrollment(code.json.code);
    expect((await call(b, 'POST', '/v1/devices', { enrollment })).status).toBe(201);
    // The code is used up for both instances.
    const again = await call(a, 'POST', '/v1/devices', {
      enrollment: await device.enrollment(code.json.code),
    });
    expect(again.json?.error?.code).toBe('ERR_ENROLLMENT_CODE');

    now();
    const bound = await call(b, 'POST', '/v1/sessions/bind', {
      binding: await device.binding(sid, challenge),
    });
    expect(bound.status).toBe(200);

    now();
    const first = await device.attestation({ sid, seq: 1, conf: 0.9 });
    expect((await call(a, 'POST', '/v1/attestations', { attestation: first })).status).toBe(202);
    device.commit(sid, first);
    const replay = await call(b, 'POST', '/v1/attestations', { attestation: first });
    expect(replay.status).toBe(409);
    expect(replay.json.error.code).toBe('ERR_REPLAY');

    now();
    const second = await device.attestation({ sid, seq: 2, conf: 0.8, prev: chainHash(first) });
    const accepted = await call(b, 'POST', '/v1/attestations', { attestation: second });
    expect(accepted.status).toBe(202);
    expect(accepted.json.seq).toBe(2);

    // The same next attestation to both at once: exactly one accepts it.
    now();
    const third = await device.attestation({ sid, seq: 3, conf: 0.8, prev: chainHash(second) });
    const raced = await Promise.all(
      [a, b].map((server) => call(server, 'POST', '/v1/attestations', { attestation: third })),
    );
    expect(raced.map((r) => r.status).sort()).toEqual([202, 409]);

    const token = await call(a, 'POST', `/v1/sessions/${sid}/token`, undefined, BANK);
    expect(token.status).toBe(200);
    const introspected = await call(b, 'POST', '/v1/introspect', { token: token.json.token }, BANK);
    expect(introspected.status).toBe(200);
    expect(introspected.json).toMatchObject({ active: true, sid, tacit_attestations: 3 });

    // One audit chain, written by both, verifies from either.
    const verified = await call(a, 'GET', '/v1/audit/verify', undefined, AUDITOR);
    expect(verified.json).toMatchObject({ ok: true });
    expect(verified.json.records).toBeGreaterThanOrEqual(9);
    for (const server of [a, b]) {
      expect((await call(server, 'GET', '/readyz')).json).toMatchObject({ status: 'ready' });
    }
  });
});
