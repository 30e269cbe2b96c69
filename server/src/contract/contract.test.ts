/**
 * The contract against the running app (in-process, real store): each route's request is
 * built to the contract's request schema and its answer must parse with the contract's
 * answer schema; error answers with the `Error` schema and the table's status. The OpenAPI
 * document's named schemas are generated from the same zod schemas.
 *
 * Beyond this file, the harness checks every exchange of every server test against the route
 * table when it closes (`testing/contract-check.ts`); here a full flow reaches every operation
 * of the table, and the checker is shown to catch answers and requests off the contract.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { OPENAPI } from '../http/openapi';
import {
  KEYS,
  TestDevice,
  attest,
  boundSession,
  createHarness,
  deviceCall,
  enrollDevice,
  requestToken,
  revoke,
  type Answer,
  type Harness,
} from '../testing/harness';
import { corsEntry } from '../http/middleware/cors';
import { contractViolations, findRoute, type Exchange } from '../testing/contract-check';
import { ERROR_STATUS } from './errors';
import { ROUTES, ROUTE_LIST } from './routes';
import * as c from './schemas';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

function answers(res: Answer, status: number, schema: z.ZodType): void {
  expect(res.status, res.text).toBe(status);
  const parsed = schema.safeParse(res.json);
  expect(parsed.success, `${JSON.stringify(parsed.error?.issues)} in ${res.text}`).toBe(true);
}

describe('the wire contract', () => {
  it('every exercised route takes the contract’s request and answers with its schema', async () => {
    answers(await h.call('GET', '/healthz'), 200, c.healthAnswer);
    answers(await h.call('GET', '/readyz'), 200, c.readinessSchema);
    answers(await h.call('GET', '/.well-known/jwks.json'), 200, c.jwksAnswer);

    const code = await h.call('POST', '/v1/enrollment-codes', {
      key: KEYS.bankA,
      json: c.subjectBody.parse({ subject: 'carol' }),
    });
    answers(code, 201, c.enrollmentCodeAnswer);

    const { device, sid } = await boundSession(h, 'alice');
    answers(
      await h.call('GET', '/v1/devices?subject=alice', { key: KEYS.bankA }),
      200,
      c.devicesAnswer,
    );
    const opened = await h.call('POST', '/v1/sessions', {
      key: KEYS.bankA,
      json: c.subjectBody.parse({ subject: 'alice' }),
    });
    answers(opened, 201, c.openedAnswer);

    const jws = await device.attestation({ sid, seq: 1, state: 'scoring', conf: 0.9 });
    c.attestationBody.parse({ attestation: jws });
    const accepted = await h.call('POST', '/v1/attestations', { json: { attestation: jws } });
    answers(accepted, 202, c.attestationAnswer);
    device.commit(sid, jws);
    answers(
      await attest(h, device, { sid, seq: 2, state: 'scoring', conf: 0.8 }),
      202,
      c.attestationAnswer,
    );

    const token = await requestToken(h, sid);
    answers(token, 200, c.tokenAnswer);
    const introspected = await h.call('POST', '/v1/introspect', {
      key: KEYS.bankA,
      json: c.introspectBody.parse({ token: token.json.token }),
    });
    answers(introspected, 200, c.activeIntrospectionSchema);
    answers(
      await h.call('POST', '/v1/introspect', { key: KEYS.bankA, json: { token: 'x.y.z' } }),
      200,
      c.inactiveIntrospectionSchema,
    );
    answers(
      await h.call('POST', `/v1/sessions/${sid}/decision`, { key: KEYS.bankA }),
      200,
      c.decisionSchema,
    );
    answers(
      await h.call('POST', `/v1/sessions/${sid}/confirm`, {
        key: KEYS.bankA,
        json: c.confirmBody.parse({
          method: 'webauthn',
          at: new Date(h.clock.now()).toISOString(),
        }),
      }),
      200,
      c.confirmedAnswer,
    );
    answers(
      await deviceCall(h, device, 'GET', `/v1/device/sessions/${sid}`),
      200,
      c.deviceSessionSchema,
    );
    answers(await deviceCall(h, device, 'GET', '/v1/device/enrollments'), 200, c.enrollmentsAnswer);
    answers(
      await h.call('GET', '/v1/audit/verify', { key: KEYS.auditor }),
      200,
      c.auditVerificationSchema,
    );
    const lines = (await h.call('GET', '/v1/audit', { key: KEYS.auditor })).text.trim().split('\n');
    for (const line of lines)
      expect(c.auditRecordSchema.safeParse(JSON.parse(line)).success, line).toBe(true);
    answers(
      await h.call('POST', '/v1/admin/signing-keys/rotate', { key: KEYS.admin }),
      200,
      c.signingKeysRotatedAnswer,
    );
    const next = await TestDevice.create(h.clock);
    answers(
      await deviceCall(h, device, 'POST', '/v1/device/rotate', {
        json: c.rotateBody.parse({ rotation: await next.rotation(device.jkt) }),
      }),
      200,
      c.rotatedAnswer,
    );
    answers(await deviceCall(h, next, 'POST', '/v1/device/revoke'), 200, c.revokedAnswer);
    const bob = await enrollDevice(h, 'bob');
    answers(await revoke(h, bob.jkt, 'bob'), 200, c.deviceSchema);
    answers(
      await h.call('POST', `/v1/admin/devices/${bob.jkt}/revoke`, { key: KEYS.admin }),
      200,
      c.revokedAnswer,
    );
    answers(
      await h.call('GET', `/v1/admin/devices/${bob.jkt}`, { key: KEYS.aggregator }),
      200,
      c.deviceKeyAnswer,
    );
    const metrics = await h.call('GET', '/metrics', { key: KEYS.admin });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('tacit_http_requests_total');
    answers(await h.call('GET', '/openapi.json'), 200, c.openApiAnswer);
    // Shared Signals: metadata, a stream's whole life, poll, dead letters.
    answers(await h.call('GET', '/.well-known/ssf-configuration'), 200, c.ssfConfigurationSchema);
    const stream = await h.call('POST', '/v1/ssf/streams', {
      key: KEYS.bankA,
      json: c.streamCreateBody.parse({ delivery: { method: c.POLL_METHOD } }),
    });
    answers(stream, 201, c.streamConfigSchema);
    const streamId = stream.json.stream_id as string;
    const bank = { key: KEYS.bankA };
    answers(await h.call('GET', '/v1/ssf/streams', bank), 200, c.streamConfigSchema.array());
    answers(
      await h.call('PATCH', '/v1/ssf/streams', { ...bank, json: { stream_id: streamId } }),
      200,
      c.streamConfigSchema,
    );
    answers(
      await h.call('PUT', '/v1/ssf/streams', {
        ...bank,
        json: { stream_id: streamId, delivery: { method: c.POLL_METHOD } },
      }),
      200,
      c.streamConfigSchema,
    );
    answers(
      await h.call('GET', `/v1/ssf/status?stream_id=${streamId}`, bank),
      200,
      c.streamStatusSchema,
    );
    answers(
      await h.call('POST', '/v1/ssf/status', {
        ...bank,
        json: { stream_id: streamId, status: 'enabled' },
      }),
      200,
      c.streamStatusSchema,
    );
    expect(
      (await h.call('POST', '/v1/ssf/verify', { ...bank, json: { stream_id: streamId } })).status,
    ).toBe(204);
    answers(
      await h.call('POST', `/v1/ssf/poll/${streamId}`, {
        ...bank,
        json: { returnImmediately: true },
      }),
      200,
      c.pollAnswerSchema,
    );
    answers(
      await h.call('GET', `/v1/ssf/dead-letters?stream_id=${streamId}`, bank),
      200,
      c.deadLettersSchema,
    );
    expect((await h.call('DELETE', `/v1/ssf/streams?stream_id=${streamId}`, bank)).status).toBe(
      204,
    );
    const ended = await h.call('DELETE', `/v1/sessions/${opened.json.sessionId}`, {
      key: KEYS.bankA,
    });
    expect(ended.status).toBe(204);

    // Every operation of the table was reached with one of its declared answers, and every
    // request and answer of this flow is on the contract.
    const reached = new Set(
      h.exchanges.map((e) => {
        const found = findRoute(e.method, new URL(e.url, 'http://x').pathname);
        return found && e.status in found.route.responses ? found.route.operationId : undefined;
      }),
    );
    expect(ROUTE_LIST.map((r) => r.operationId).filter((id) => !reached.has(id))).toEqual([]);
    expect(h.exchanges.flatMap(contractViolations)).toEqual([]);
  });

  it('the checker catches answers and requests off the contract', async () => {
    const { sid } = await boundSession(h, 'alice');
    const token = await requestToken(h, sid);
    const exchange = h.exchanges.at(-1)!;
    expect(contractViolations(exchange)).toEqual([]);
    const off = (change: Partial<Exchange>) => contractViolations({ ...exchange, ...change });
    // An answer with a member missing, one too many, a wrong type.
    const answer = token.json as { token: string; expiresAt: string };
    expect(off({ responseText: JSON.stringify({ token: answer.token }) })).toHaveLength(1);
    expect(off({ responseText: JSON.stringify({ ...answer, extra: 1 }) })).toHaveLength(1);
    expect(off({ responseText: JSON.stringify({ ...answer, expiresAt: 5 }) })).toHaveLength(1);
    // A status the operation does not declare, or an error code it does not list.
    expect(off({ status: 201 })).toHaveLength(1);
    const chain = { error: { code: 'ERR_CHAIN', message: 'x' } };
    expect(off({ status: 409, responseText: JSON.stringify(chain) })[0]).toMatch(/not listed/);
    // A request the operation's schemas refuse, answered as if it were fine.
    expect(off({ url: '/v1/sessions/bad%20id/token' })[0]).toMatch(/path parameter sid/);
    const opened = h.exchanges.find((e) => e.url === ROUTES.openSession.path)!;
    expect(
      contractViolations({ ...opened, requestBody: JSON.stringify({ subject: 'a', x: 1 }) }),
    ).toHaveLength(1);
  });

  it('error answers have the Error schema and the status of the error table', async () => {
    const cases: [Answer, string][] = [
      [
        await h.call('POST', '/v1/sessions', { key: KEYS.bankA, json: { subject: '' } }),
        'ERR_BAD_REQUEST',
      ],
      [await h.call('POST', '/v1/sessions', { json: { subject: 'a' } }), 'ERR_UNAUTHORIZED'],
      [await h.call('GET', '/v1/audit/verify', { key: KEYS.bankA }), 'ERR_FORBIDDEN'],
      [await h.call('GET', '/nowhere'), 'ERR_NOT_FOUND'],
      [
        await h.call('POST', '/v1/attestations', { json: { attestation: 'a.b.c' } }),
        'ERR_JWS_INVALID',
      ],
      [await requestToken(h, 'no-such-session'), 'ERR_UNKNOWN_SESSION'],
    ];
    for (const [res, code] of cases) {
      answers(res, ERROR_STATUS[code as keyof typeof ERROR_STATUS], c.errorBodySchema);
      expect(res.json.error.code).toBe(code);
    }
  });

  it('CORS classes and rate-limit grouping are the table’s', () => {
    for (const route of ROUTE_LIST) {
      // A concrete path for the pattern (parameters filled with valid ids).
      const path = route.path.replace(/:\w+/g, 'id_0');
      const entry = corsEntry(path);
      if (route.cors === 'none') {
        expect(entry?.extension.has(route.method) ?? false, route.path).toBe(false);
        expect(entry?.bank.has(route.method) ?? false, route.path).toBe(false);
      } else {
        expect(entry?.[route.cors].has(route.method), route.path).toBe(true);
      }
      // The limiter is mounted on /v1/*: exactly the routes the table limits.
      expect(route.rateLimit === 'none', route.path).toBe(!route.path.startsWith('/v1/'));
      // Grouping by device: the member is the body's statement, signed by that device.
      if (typeof route.rateLimit === 'object') {
        expect(route.security, route.path).toMatchObject({ member: route.rateLimit.device });
      }
    }
    expect(corsEntry('/v1/device/sessions/not an id')).toBeUndefined();
    expect(corsEntry('/v1/device/sessions/abc/x')).toBeUndefined();
    expect(corsEntry('/v1/sessions/abc/token')).toBeUndefined();
  });

  it('the OpenAPI document’s named schemas are the contract’s', () => {
    const schemas = OPENAPI.components.schemas as Record<string, { enum?: unknown[] }>;
    expect(schemas.Level!.enum).toEqual(c.levelSchema.options);
    expect(schemas.Action!.enum).toEqual(c.actionSchema.options);
    const error = JSON.stringify(schemas.Error);
    for (const code of Object.keys(ERROR_STATUS)) expect(error).toContain(code);
    expect(Object.keys(schemas).sort()).toEqual(
      [
        'Action',
        'AuditRecord',
        'AuditVerification',
        'CompactJws',
        'DeadLetters',
        'Decision',
        'Device',
        'DeviceSession',
        'Error',
        'Introspection',
        'Jwks',
        'Level',
        'PathId',
        'PollAnswer',
        'Readiness',
        'SsfConfiguration',
        'StreamConfiguration',
        'StreamId',
        'StreamStatus',
        'Subject',
        'Thresholds',
      ].sort(),
    );
  });
});
