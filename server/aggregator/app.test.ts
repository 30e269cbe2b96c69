/**
 * The aggregator in-process over its own SQLite store, asking the real verifier (in-process,
 * `createHarness`) about device keys; devices with real ES256 keys enrolled there. Every
 * refusal is checked for its code *and* for nothing stored.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { CompactSign, base64url, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignedModelError } from '../../model/errors';
import { flattenParameters } from '../../model/federated/parameters';
import { clipDelta } from '../../model/federated/privatise';
import { publicCentresFromJSON } from '../../model/federated/public-centres';
import { signUpdate, verifyModelVersion } from '../../model/federated/signed';
import { keySequence } from '../../model/features/sequence';
import { loadPohmmUsers } from '../../model/cli/public-users';
import { TYPIST_A, syntheticKeystrokes } from '../../model/testing/synthetic';
import type { TrainingUser } from '../../model/shared/train';
import { embeddingDimension } from '../../model/shared/encoder';
import { encoderId } from '../../model/shared/embedding-model';
import { quantise, serialiseUpdate } from '../../model/federated/update-format';
import { createRng } from '../../model/random';
import { encoderFromJSON } from '../../model/shared/encoder';
import { memoryLogger } from '../src/observability/log';
import {
  KEYS,
  TestDevice,
  createHarness,
  enrollDevice,
  revoke,
  unsecuredJws,
  type Harness,
} from '../src/testing/harness';
import { createAggregatorApp, type AggregatorApp } from './app';
import { AGGREGATOR_ROUTE_LIST, AGGREGATOR_ROUTES as R } from './http/contract';
import { AGGREGATOR_OPENAPI } from './http/openapi';
import { verifierDirectory } from './services/device-directory';
import type { RoundSettings } from './services/rounds';
import { openAggregatorStore, type AggregatorStore } from './store/store';

const ENCODER_TEXT = readFileSync(
  join(import.meta.dirname, '../../model/shared/default-keystroke.json'),
  'utf8',
);
const POHMM = join(import.meta.dirname, '../../../shared/datasets/pohmm');
const SHIPPED_CENTRES = join(
  import.meta.dirname,
  '../../model/shared/default-keystroke-centres.json',
);
/**
 * Public users for the plumbing tests: synthetic typists (cheap, no dataset needed). The real
 * public users (pohmm) are checked against the shipped centres below.
 */
const PUBLIC_USERS: TrainingUser[] = [0, 1, 2].map((i) => ({
  userId: `synthetic:${i}`,
  sequences: [1, 2].map((seed) =>
    keySequence(
      syntheticKeystrokes(
        { holdMs: TYPIST_A.holdMs + 30 * i, flightMs: TYPIST_A.flightMs - 20 * i },
        40,
        { seed: seed + 10 * i },
      ),
    ),
  ),
}));
const ADMIN = 'operator-secret-0123456789abcdef';
const P = 26_592;

const SETTINGS: RoundSettings = {
  minDevices: 3,
  clipNorm: 1,
  noiseMultiplier: 1,
  samplingRate: 0.01,
  serverLearningRate: 1,
  aggregation: { method: 'trimmed-mean', trimFraction: 0.1 },
  maxUpdateBytes: 64 * 1024,
  epsilonBudget: 8,
  delta: 1e-5,
};

let h: Harness;
let store: AggregatorStore;
let agg: AggregatorApp;

async function build(
  settings: Partial<RoundSettings> = {},
  uploadRateLimit = 0,
  o: { path?: string; publicUsers?: readonly TrainingUser[] } = {},
) {
  store = openAggregatorStore(o.path ?? ':memory:');
  agg = await createAggregatorApp({
    store,
    devices: verifierDirectory({
      url: 'http://verifier.test',
      apiKey: KEYS.aggregator,
      fetch: (req) => Promise.resolve(h.app.request(req)),
    }),
    settings: { ...SETTINGS, ...settings },
    issuer: 'http://aggregator.test',
    adminKey: ADMIN,
    initialEncoder: ENCODER_TEXT,
    publicUsers: o.publicUsers ?? PUBLIC_USERS,
    uploadRateLimit,
    logger: memoryLogger(),
  });
}

beforeEach(async () => {
  h = await createHarness();
  await build();
});
afterEach(async () => {
  store.close();
  await h.close();
});

interface Res {
  status: number;
  json: any;
}
async function call(
  method: string,
  path: string,
  o: { body?: unknown; admin?: boolean; raw?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (o.admin) headers.authorization = `Bearer ${ADMIN}`;
  let body: string | undefined;
  if (o.body !== undefined || o.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = o.raw ?? JSON.stringify(o.body);
  }
  const res = await agg.app.request(path, { method, headers, body });
  return { status: res.status, json: await res.json() };
}

/** An honest update's bytes: a random delta clipped to C, quantised. */
function updateBytes(
  round: number,
  over: { encoderId?: string; scale?: number; seed?: number } = {},
) {
  const rng = createRng(over.seed ?? round);
  const raw = Float32Array.from({ length: P }, () => rng() - 0.5);
  const delta = clipDelta(raw, SETTINGS.clipNorm).map((v) => v * (over.scale ?? 1));
  const encoderId = over.encoderId ?? agg.versions.latest().enc;
  return serialiseUpdate(quantise(delta, { round, encoderId }, rng));
}

const key = (d: TestDevice) => ({ privateKey: d.privateKey, kid: d.jkt });
const upload = (update: string) => call('POST', R.upload.path, { body: { update } });

async function expectRefused(send: () => Promise<Res>, status: number, code: string) {
  const before = store.counts();
  const res = await send();
  expect(res.json?.error?.code, JSON.stringify(res.json)).toBe(code);
  expect(res.status).toBe(status);
  expect(store.counts()).toEqual(before);
}

describe('a round, open → collect → close', () => {
  it('publishes a signed version from m_min devices, verified against the JWKS', async () => {
    const opened = await call('POST', R.openRound.path, { admin: true });
    expect(opened.status).toBe(201);
    expect(R.openRound.answer.parse(opened.json)).toMatchObject({
      round: 1,
      baseVersion: 1,
      parameters: P,
    });
    expect((await call('GET', R.currentRound.path)).json.round).toBe(1);
    const devices = [
      await enrollDevice(h, 'a'),
      await enrollDevice(h, 'b'),
      await enrollDevice(h, 'c'),
    ];
    for (const [i, d] of devices.entries()) {
      const res = await upload(await signUpdate(updateBytes(1, { seed: i }), key(d)));
      expect(res.status).toBe(201);
      expect(res.json).toEqual({ round: 1, received: i + 1 });
    }
    expect(store.counts().updates).toBe(3);
    const closed = await call('POST', '/v1/admin/rounds/1/close', {
      admin: true,
      body: { evaluation: { eer: 0.11 } },
    });
    expect(closed.status).toBe(201);
    expect(R.closeRound.answer.parse(closed.json)).toMatchObject({
      ver: 2,
      round: 1,
      contributors: 3,
      evaluation: { eer: 0.11 },
      current: true,
    });
    expect(closed.json.epsilon).toBeGreaterThan(0);
    // The updates' bytes are gone once the round is closed.
    expect(store.counts()).toEqual({ rounds: 1, updates: 0, versions: 2 });

    const jwks = (await call('GET', R.jwks.path)).json;
    const served = (await call('GET', R.currentVersion.path)).json;
    const claims = await verifyModelVersion(R.currentVersion.answer.parse(served), jwks, {
      issuer: 'http://aggregator.test',
      minVersion: 2,
    });
    expect(claims).toMatchObject({ ver: 2, round: 1, contributors: 3, enc: closed.json.encoderId });
    const v1 = encoderFromJSON(ENCODER_TEXT);
    const v2 = encoderFromJSON(served.encoder);
    expect(flattenParameters(v2)).not.toEqual(flattenParameters(v1));
    expect(closed.json.encoderId).toMatch(/\+fl2:/);
    // Version 2 carries the public centres under its own encoder: a device can train it.
    const centres2 = publicCentresFromJSON(served.centres, {
      encoderId: encoderId(v2),
      dimension: embeddingDimension(v2),
    });
    expect(centres2.centres).toHaveLength(PUBLIC_USERS.length);
    const v1Served = (await call('GET', '/v1/models/1')).json;
    expect(served.centres).not.toBe(v1Served.centres);
    // A device refuses a served encoder, or centres, that are not the signed ones.
    for (const forged of [
      { ...served, encoder: ENCODER_TEXT },
      { ...served, centres: v1Served.centres },
    ]) {
      await expect(verifyModelVersion(forged, jwks)).rejects.toMatchObject({
        code: 'ERR_MODEL_DIGEST',
      });
      await expect(verifyModelVersion(forged, jwks)).rejects.toBeInstanceOf(SignedModelError);
    }

    // The next round trains from version 2; an update made for version 1 is refused.
    expect((await call('POST', R.openRound.path, { admin: true })).json.baseVersion).toBe(2);
    const late = await signUpdate(updateBytes(2, { encoderId: v1Id() }), key(devices[0]!));
    await expectRefused(() => upload(late), 409, 'ERR_UPDATE_ENCODER');
  });

  it('refuses to close below m_min (the round stays open) and lists, gets, rolls back', async () => {
    await call('POST', R.openRound.path, { admin: true });
    await expectRefused(
      () => call('POST', R.openRound.path, { admin: true }),
      409,
      'ERR_ROUND_OPEN',
    );
    const d = await enrollDevice(h);
    await upload(await signUpdate(updateBytes(1), key(d)));
    await expectRefused(
      () => call('POST', '/v1/admin/rounds/1/close', { admin: true, body: {} }),
      409,
      'ERR_TOO_FEW_DEVICES',
    );
    expect((await call('GET', '/v1/admin/rounds/1', { admin: true })).json).toMatchObject({
      status: 'open',
      received: 1,
    });
    for (const s of ['a', 'b'])
      await upload(await signUpdate(updateBytes(1), key(await enrollDevice(h, s))));
    expect((await call('POST', '/v1/admin/rounds/1/close', { admin: true, body: {} })).status).toBe(
      201,
    );
    await expectRefused(
      () => call('POST', '/v1/admin/rounds/1/close', { admin: true, body: {} }),
      409,
      'ERR_ROUND_STATE',
    );
    const back = await call('POST', '/v1/admin/models/1/rollback', { admin: true });
    expect(back.status).toBe(201);
    expect(back.json).toMatchObject({ ver: 3, rollbackOf: 1, round: null, current: true });
    const v3 = (await call('GET', '/v1/models/3')).json;
    const claims = await verifyModelVersion(v3, (await call('GET', R.jwks.path)).json);
    expect(claims.rollbackOf).toBe(1);
    expect(flattenParameters(encoderFromJSON(v3.encoder))).toEqual(
      flattenParameters(encoderFromJSON(ENCODER_TEXT)),
    );
    // The rollback's centres are version 1's, named for its own encoder id.
    const v1Centres = JSON.parse((await call('GET', '/v1/models/1')).json.centres);
    expect(JSON.parse(v3.centres)).toEqual({ ...v1Centres, encoderId: claims.enc });
    const list = (await call('GET', R.listVersions.path)).json;
    expect(R.listVersions.answer.parse(list).versions.map((v) => [v.ver, v.current])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    await expectRefused(() => call('GET', '/v1/models/9'), 404, 'ERR_NOT_FOUND');
    await expectRefused(
      () => call('POST', '/v1/admin/models/9/rollback', { admin: true }),
      404,
      'ERR_NOT_FOUND',
    );
  });

  it('refuses to open a round the privacy budget cannot pay for', async () => {
    store.close();
    // q = 1, σ = 1: one round costs ε ≈ 4.4 at δ = 1e-5; a budget of 1 pays for none.
    await build({ samplingRate: 1, epsilonBudget: 1 });
    await expectRefused(
      () => call('POST', R.openRound.path, { admin: true }),
      409,
      'ERR_PRIVACY_BUDGET',
    );
    expect(store.counts().rounds).toBe(0);
  });

  it('admin routes need the operator key', async () => {
    await expectRefused(() => call('POST', R.openRound.path), 401, 'ERR_UNAUTHORIZED');
    const res = await agg.app.request(R.openRound.path, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.admin}` },
    });
    expect(res.status).toBe(401);
  });
});

function v1Id(): string {
  return store.version(1)!.enc;
}

describe('an update is refused with its code, and nothing is stored', () => {
  let device: TestDevice;
  beforeEach(async () => {
    device = await enrollDevice(h);
  });

  it('no open round', async () => {
    const jws = await signUpdate(updateBytes(1), key(device));
    await expectRefused(() => upload(jws), 409, 'ERR_NO_OPEN_ROUND');
  });

  it('tampered, unsigned, other algorithm or type, or another key', async () => {
    await call('POST', R.openRound.path, { admin: true });
    const good = await signUpdate(updateBytes(1), key(device));
    const [h64, p64, s64] = good.split('.') as [string, string, string];
    const payload = base64url.decode(p64);
    payload[40] = payload[40]! ^ 1;
    const other = await generateKeyPair('ES256');
    const cases = [
      `${h64}.${base64url.encode(payload)}.${s64}`,
      unsecuredJws({ typ: 'tacit-fl-update+jws', kid: device.jkt }, 'x'),
      `${h64}.${p64}.`,
      await new CompactSign(updateBytes(1))
        .setProtectedHeader({ alg: 'HS256', typ: 'tacit-fl-update+jws', kid: device.jkt })
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!')),
      await new CompactSign(updateBytes(1))
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: device.jkt })
        .sign(device.privateKey),
      await signUpdate(updateBytes(1), { privateKey: other.privateKey, kid: device.jkt }),
    ];
    for (const jws of cases) await expectRefused(() => upload(jws), 401, 'ERR_UPDATE_SIGNATURE');
  });

  it('unknown or revoked device', async () => {
    await call('POST', R.openRound.path, { admin: true });
    const stranger = await TestDevice.create(h.clock);
    await expectRefused(
      async () => upload(await signUpdate(updateBytes(1), key(stranger))),
      403,
      'ERR_UNKNOWN_DEVICE',
    );
    await revoke(h, device.jkt);
    await expectRefused(
      async () => upload(await signUpdate(updateBytes(1), key(device))),
      403,
      'ERR_DEVICE_REVOKED',
    );
  });

  it('rate-limited: an address past its uploads per minute gets 429 before any check', async () => {
    store.close();
    await build({}, 3);
    await call('POST', R.openRound.path, { admin: true });
    const jws = await signUpdate(updateBytes(1), key(device));
    // Refused uploads count too: flooding with garbage is what the limit is for.
    for (let i = 0; i < 3; i++) expect((await upload('not-a-jws')).status).toBe(400);
    await expectRefused(() => upload(jws), 429, 'ERR_RATE_LIMITED');
    const res = await agg.app.request(R.upload.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ update: jws }),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Reads are not limited.
    expect((await call('GET', R.currentRound.path)).status).toBe(200);
  });

  it('replayed: a second update of the device in the round', async () => {
    await call('POST', R.openRound.path, { admin: true });
    const jws = await signUpdate(updateBytes(1), key(device));
    expect((await upload(jws)).status).toBe(201);
    await expectRefused(() => upload(jws), 409, 'ERR_UPDATE_REPLAY');
    const another = await signUpdate(updateBytes(1, { seed: 9 }), key(device));
    await expectRefused(() => upload(another), 409, 'ERR_UPDATE_REPLAY');
  });

  it('wrong round, wrong model version, wrong format version, malformed', async () => {
    await call('POST', R.openRound.path, { admin: true });
    const sign = (b: Uint8Array) => signUpdate(b, key(device));
    await expectRefused(async () => upload(await sign(updateBytes(2))), 409, 'ERR_UPDATE_ROUND');
    await expectRefused(
      async () =>
        upload(await sign(updateBytes(1, { encoderId: 'keystroke:other:2026-01-01:90:48' }))),
      409,
      'ERR_UPDATE_ENCODER',
    );
    const v2 = updateBytes(1);
    v2[4] = 2;
    await expectRefused(async () => upload(await sign(v2)), 400, 'ERR_UPDATE_VERSION');
    const garbage = updateBytes(1);
    garbage[0] = 0x58;
    await expectRefused(async () => upload(await sign(garbage)), 400, 'ERR_UPDATE_FORMAT');
  });

  it('oversized: bytes beyond the header, above the limit, or a body above the limit', async () => {
    await call('POST', R.openRound.path, { admin: true });
    const bytes = updateBytes(1);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    await expectRefused(
      async () => upload(await signUpdate(longer, key(device))),
      413,
      'ERR_UPDATE_SIZE',
    );
    const huge = new Uint8Array(SETTINGS.maxUpdateBytes + 1);
    huge.set(bytes);
    await expectRefused(
      async () => upload(await signUpdate(huge, key(device))),
      413,
      'ERR_UPDATE_SIZE',
    );
    await expectRefused(
      () => call('POST', R.upload.path, { raw: JSON.stringify({ update: 'a'.repeat(200_000) }) }),
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    );
  });

  it('a norm above the round bound (a scaled update)', async () => {
    const round = (await call('POST', R.openRound.path, { admin: true })).json;
    // Clipped to C, then scaled past the bound (noise-free, as a poisoner would).
    const scale = (round.normBound / SETTINGS.clipNorm) * 1.2;
    await expectRefused(
      async () => upload(await signUpdate(updateBytes(1, { scale }), key(device))),
      422,
      'ERR_UPDATE_NORM',
    );
  });

  it('malformed requests', async () => {
    await call('POST', R.openRound.path, { admin: true });
    await expectRefused(() => call('POST', R.upload.path, { raw: '{' }), 400, 'ERR_BAD_REQUEST');
    await expectRefused(
      () => call('POST', R.upload.path, { body: { update: 'a.b' } }),
      400,
      'ERR_BAD_REQUEST',
    );
    await expectRefused(() => call('POST', R.upload.path, { body: {} }), 400, 'ERR_BAD_REQUEST');
  });
});

const HAVE_POHMM = existsSync(POHMM);
if (!HAVE_POHMM) {
  console.warn(`skipped: the shipped-centres check needs the pohmm dataset at ${POHMM}`);
}

describe('public centres with every version', () => {
  it('are computed without TensorFlow.js: the aggregator loads none (pure TypeScript encoder)', async () => {
    // A fresh process: the test runner's own module graph may hold TF.js already. TF.js
    // announces itself with globals (`_tfengine`); the training code, loaded after, sets them.
    const here = (f: string) => JSON.stringify(join(import.meta.dirname, f));
    const tf = "JSON.stringify(Object.keys(globalThis).filter((k) => k.startsWith('_tf')))";
    const { stdout } = await promisify(execFile)(
      join(import.meta.dirname, '../../node_modules/.bin/tsx'),
      [
        '--eval',
        `Promise.all([${here('app.ts')}, ${here('config.ts')}, ${here('store/store.ts')}].map((f) => import(f)))` +
          `.then(() => console.log(${tf}))` +
          `.then(() => import(${here('../../model/shared/train.ts')}))` +
          `.then(() => console.log(${tf}))`,
      ],
    );
    const [aggregator, training] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    expect(aggregator).toEqual([]);
    expect(training).toContain('_tfengine');
  }, 30_000);

  it.skipIf(!HAVE_POHMM)(
    'version 1 carries the shipped centres: the pohmm users under the shipped encoder',
    async () => {
      store.close();
      await build({}, 0, { publicUsers: loadPohmmUsers(POHMM).users });
      const v1 = (await call('GET', R.currentVersion.path)).json;
      const claims = await verifyModelVersion(v1, (await call('GET', R.jwks.path)).json);
      const expected = { encoderId: claims.enc, dimension: 48 };
      const served = publicCentresFromJSON(v1.centres, expected);
      const shipped = publicCentresFromJSON(readFileSync(SHIPPED_CENTRES, 'utf8'), expected);
      expect(served.centres).toHaveLength(90);
      expect(shipped.centres).toHaveLength(90);
      let worst = 0;
      served.centres.forEach((c, i) =>
        c.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - shipped.centres[i]![j]!)))),
      );
      expect(worst).toBeLessThan(1e-5);
    },
    30_000,
  );

  it('an older store: its versions get centres and a re-signed token at start, same ver', async () => {
    store.close();
    const dir = mkdtempSync(join(tmpdir(), 'agg-centres-'));
    try {
      const path = join(dir, 'aggregator.db');
      await build({}, 0, { path });
      const before = store.version(1)!;
      // Make it a store of before migration 2: no centres column, a token without the claim.
      const { centresDigest: _c, ...old } = decodeJwt(before.token) as Record<string, unknown>;
      const oldToken = await agg.key.sign(old as never);
      store.close();
      const raw = new Database(path);
      raw.prepare('UPDATE versions SET token = ? WHERE ver = 1').run(oldToken);
      raw.exec('ALTER TABLE versions DROP COLUMN centres');
      raw.pragma('user_version = 1');
      raw.close();

      await build({}, 0, { path });
      const after = store.version(1)!;
      expect(after.centres).toBe(before.centres);
      expect(after.token).not.toBe(oldToken);
      const jwks = (await call('GET', R.jwks.path)).json;
      const v1 = (await call('GET', '/v1/models/1')).json;
      const claims = await verifyModelVersion(v1, jwks, { minVersion: 1 });
      expect(claims).toEqual({ ...old, centresDigest: claims.centresDigest });
      expect(store.counts().versions).toBe(1);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      // afterEach closes the store again: give it an open one.
      store = openAggregatorStore(':memory:');
    }
  });
});

describe('contract', () => {
  it('the OpenAPI document lists exactly the route table', async () => {
    const doc = (await call('GET', '/openapi.json')).json;
    expect(doc).toEqual(JSON.parse(JSON.stringify(AGGREGATOR_OPENAPI)));
    const listed = Object.entries(
      doc.paths as Record<string, Record<string, { operationId: string }>>,
    )
      .flatMap(([, ops]) => Object.values(ops).map((o) => o.operationId))
      .sort();
    expect(listed).toEqual(AGGREGATOR_ROUTE_LIST.map((r) => r.operationId).sort());
    // Every route the app registers is in the table, and the reverse.
    // (A route with the admin middleware is registered twice: middleware and handler.)
    const registered = [
      ...new Set(
        agg.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`),
      ),
    ].sort();
    expect(registered).toEqual(AGGREGATOR_ROUTE_LIST.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('the JWKS holds the public key only', async () => {
    const jwks = R.jwks.answer.parse((await call('GET', R.jwks.path)).json);
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]!)).not.toContain('d');
    const pub = await exportJWK((await generateKeyPair('ES256')).publicKey);
    expect(Object.keys(pub).sort()).toEqual(['crv', 'kty', 'x', 'y']);
  });
});
