/**
 * Durability on SQLite (project `unit` only): a real server process is SIGKILLed right after
 * acknowledging attestations; reopening its file finds every acknowledged one, with its audit
 * record (WAL, `synchronous = FULL`, the record in the same transaction).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditTrail } from '../../services/audit';
import { chainHash } from '../../crypto/attestation';
import { manualClock } from '../../clock';
import { memoryLogger } from '../../observability/log';
import { createMetrics } from '../../observability/metrics';
import { openSqliteStore } from './sqlite';
import { TestDevice } from '../../testing/harness';
import { startServerProcess, type ServerProcess } from '../../testing/server-process';

const BANK = 'bank-a-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'tacit-crash-'));
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, key?: string) {
  const res = await fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('SQLite durability', () => {
  it('every acknowledged attestation survives kill -9 right after its 202', async () => {
    const dbPath = join(dir, 'data', 'tacit.db');
    server = await startServerProcess({
      TACIT_DB: dbPath,
      TACIT_API_KEYS: `bank-a:bank:${BANK}`,
    });
    const clock = manualClock(Date.now());
    const now = () => clock.set(Date.now());
    const device = await TestDevice.create(clock);
    const code = await post('/v1/enrollment-codes', { subject: 'alice' }, BANK);
    now();
    const enrollment = await device.enrollment(code.json.code);
    const enrolled = await post('/v1/devices', { enrollment });
    expect(enrolled.status).toBe(201);
    const { sessionId: sid, challenge } = (await post('/v1/sessions', { subject: 'alice' }, BANK))
      .json;
    now();
    const binding = await device.binding(sid, challenge);
    expect((await post('/v1/sessions/bind', { binding })).status).toBe(200);

    const acked: { seq: number; hash: string }[] = [];
    let prev = '';
    for (let seq = 1; seq <= 15; seq++) {
      now();
      const jws = await device.attestation({ sid, seq, prev, conf: 0.9 });
      const res = await post('/v1/attestations', { attestation: jws });
      expect(res.status).toBe(202);
      prev = chainHash(jws);
      acked.push({ seq, hash: prev });
    }
    // One more in flight when the process dies: it may or may not have committed.
    now();
    const inFlight = post('/v1/attestations', {
      attestation: await device.attestation({ sid, seq: 16, prev, conf: 0.9 }),
    }).catch(() => undefined);
    await server.kill();
    await inFlight;
    server = undefined;

    const store = openSqliteStore(dbPath);
    try {
      const session = await store.getSession(sid);
      expect(session?.lastSeq).toBeGreaterThanOrEqual(15);
      expect((await store.counts()).attestations).toBeGreaterThanOrEqual(15);
      if (session!.lastSeq === 15) expect(session!.lastHash).toBe(acked.at(-1)!.hash);
      // Each acknowledged attestation's audit record committed with it.
      const records = await store.listAudit(0, 1000);
      const seqs = records
        .filter((r) => r.type === 'attestation.accepted' && r.data.sid === sid)
        .map((r) => r.data.seq);
      expect(seqs.slice(0, 15)).toEqual(acked.map((a) => a.seq));
      const audit = new AuditTrail({
        store,
        clock: manualClock(Date.now()),
        logger: memoryLogger(),
        metrics: createMetrics(),
      });
      expect(await audit.verify()).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });
});
