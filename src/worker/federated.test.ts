import 'fake-indexeddb/auto';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { openDB } from 'idb';
import { beforeAll, describe, expect, it } from 'vitest';
import { RAW_EVENT_SCHEMA_VERSION } from '../../model/events/schema';
import { applyDelta, parameterCount } from '../../model/federated/parameters';
import { computePublicCentres, publicCentresToJSON } from '../../model/federated/public-centres';
import { keySequence } from '../../model/features/sequence';
import { l2Norm } from '../../model/federated/privatise';
import { dequantise, parseUpdate, updateByteLength } from '../../model/federated/update-format';
import { PRODUCT } from '../../model/product/scorer';
import { encoderId } from '../../model/shared/embedding-model';
import { encoderFromJSON, encoderToJSON } from '../../model/shared/encoder';
import keystrokeEncoderFile from '../../model/shared/default-keystroke.json';
import { TYPIST_A, syntheticKeystrokes } from '../../model/testing/synthetic';
import type { FederatedRoundSpec } from '../shared/protocol';
import { Engine } from './engine';
import { AdoptedEncoderStore, publicCentresFor, runLocalRound } from './federated';
import { ModelStore } from './model-store';
import { SEQUENCE_SCHEMA_VERSION } from '../../model';

const SHIPPED = encoderFromJSON(keystrokeEncoderFile);
const SHIPPED_ID = encoderId(SHIPPED);
const P = parameterCount(SHIPPED);
const spec = (over: Partial<FederatedRoundSpec> = {}): FederatedRoundSpec => ({
  round: 7,
  encoderId: SHIPPED_ID,
  parameters: P,
  clipNorm: 1,
  noiseMultiplier: 0,
  minDevices: 100,
  ...over,
});
const random = (a: Uint32Array) => crypto.getRandomValues(a);
const ALICE = { subjectKey: 'alice-at-server' };
/** Key presses that train the keystroke model, and a few more. */
const TRAINING_PRESSES = PRODUCT.minEnrollWindows.keystroke * PRODUCT.windows.keysPerWindow + 30;
const typing = (presses: number, seed: number) => ({
  schema: RAW_EVENT_SCHEMA_VERSION,
  events: syntheticKeystrokes(TYPIST_A, presses, { seed }),
  dropped: 0,
});

/** What the aggregator would publish next: the encoder moved a little, renamed per version. */
function nextVersion(ver: number): string {
  const delta = new Float32Array(P).map((_, i) => (i % 7 === 0 ? 1e-3 : -5e-4));
  const moved = applyDelta(SHIPPED, delta);
  const json = encoderToJSON({
    ...moved,
    provenance: { ...moved.provenance, task: `${moved.provenance.task}+fl${ver}` },
  });
  return JSON.stringify(json);
}

/**
 * The public centres the aggregator would publish with version `text` (`computePublicCentres`
 * under that encoder; public users stood in for by two synthetic typists).
 */
function centresOf(text: string): string {
  const encoder = encoderFromJSON(JSON.parse(text));
  const typists = [TYPIST_A, { holdMs: 140, flightMs: 90 }];
  const users = typists.map((typist, i) => ({
    userId: `public:${i}`,
    sequences: [1, 2].map((seed) => keySequence(syntheticKeystrokes(typist, 40, { seed }))),
  }));
  return JSON.stringify(publicCentresToJSON(computePublicCentres(encoder, users)));
}

/** A small round (the product's is `FEDERATED_DEFAULTS.localUpdate`: 20 steps of 32 crops). */
const SMALL = { steps: 2, batchSize: 8, maxLength: 20 };

beforeAll(async () => {
  // The wasm backend, as in the worker (and 4–8× faster than cpu here).
  await tf.setBackend('wasm');
});

describe('runLocalRound: the client code of model/federated, in the worker', () => {
  it('gives the TFLU bytes of exactly the round and encoder, clipped to C', async () => {
    const sequences = Array.from({ length: 6 }, (_, i) => {
      const steps = new Float32Array(30 * 14).map((_, j) => ((i * 31 + j) % 17) / 40);
      return { steps, n: 30 };
    });
    const result = await runLocalRound(SHIPPED, sequences, spec({ clipNorm: 0.5 }), random, {
      training: SMALL,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.bytes.length).toBe(updateByteLength(P, SHIPPED_ID));
    const parsed = parseUpdate(result.bytes, { encoderId: SHIPPED_ID, round: 7, parameters: P });
    // σ = 0 here: the clipped delta, plus at most one quantisation step per value.
    const steps = Math.max(...parsed.scales) * Math.sqrt(P);
    expect(l2Norm(dequantise(parsed))).toBeLessThanOrEqual(0.5 + steps);
    expect(l2Norm(dequantise(parsed))).toBeGreaterThan(0);
    expect(result.ms).toBeGreaterThan(0);
    // Another round's policy refuses them: the bytes name their round.
    expect(() =>
      parseUpdate(result.bytes, { encoderId: SHIPPED_ID, round: 8, parameters: P }),
    ).toThrow(expect.objectContaining({ code: 'ERR_UPDATE_ROUND' }));
    // The shipped setting keeps a target: made in this first round, for the caller to keep
    // (unit length, the encoder's dimension); a round given it makes none.
    expect(result.newTarget).toHaveLength(48);
    expect(l2Norm(result.newTarget!)).toBeCloseTo(1, 5);
    const again = await runLocalRound(SHIPPED, sequences, spec(), random, {
      training: SMALL,
      target: result.newTarget!,
    });
    expect(again.ok && again.newTarget).toBe(undefined);
  }, 60_000);

  it('computes nothing for another encoder, without public centres or without data', async () => {
    const seq = [{ steps: new Float32Array(30 * 14).fill(0.2), n: 30 }];
    expect(await runLocalRound(SHIPPED, seq, spec({ encoderId: 'other' }), random)).toEqual({
      ok: false,
      code: 'ERR_FL_ENCODER',
    });
    expect(await runLocalRound(SHIPPED, seq, spec({ parameters: P + 1 }), random)).toEqual({
      ok: false,
      code: 'ERR_FL_ENCODER',
    });
    // Version 2 without its own centres (the shipped file names the shipped encoder only), or
    // with version 1's: no negatives for the frozen-centres objective, no round.
    const next = encoderFromJSON(JSON.parse(nextVersion(2)));
    expect(publicCentresFor(next)).toBeUndefined();
    const frozen = { ...SMALL, objective: 'frozen-centres' as const };
    for (const centres of [undefined, null, centresOf(JSON.stringify(keystrokeEncoderFile))]) {
      expect(
        await runLocalRound(next, seq, spec({ encoderId: encoderId(next) }), random, {
          centres,
          training: frozen,
        }),
      ).toEqual({ ok: false, code: 'ERR_FL_NO_CENTRES' });
    }
    // The shipped positive-only pull reads no public centre: it trains without them.
    expect(
      await runLocalRound(next, seq, spec({ encoderId: encoderId(next) }), random, {
        centres: null,
        training: SMALL,
      }),
    ).toMatchObject({ ok: true });
    expect(publicCentresFor(next, centresOf(nextVersion(2)))?.centres).toHaveLength(2);
    expect(
      await runLocalRound(SHIPPED, [{ steps: new Float32Array(14), n: 1 }], spec(), random),
    ).toEqual({
      ok: false,
      code: 'ERR_FL_NO_DATA',
    });
  });

  it('the shipped public centres belong to the shipped encoder (90 pohmm users, unit length)', () => {
    const centres = publicCentresFor(SHIPPED);
    expect(centres?.centres).toHaveLength(90);
    for (const c of centres!.centres) expect(l2Norm(c)).toBeCloseTo(1, 4);
  });
});

describe('Engine: a round on the stored sequences, and adopting a verified encoder', () => {
  it('computes an update from the enrolled subject, adopts a new encoder, rebuilds the model from the stored sequences, and keeps it after a restart', async () => {
    const store = await ModelStore.open('fl-engine');
    const adopted = new AdoptedEncoderStore('fl-engine-adopted');
    const engine = Engine.withStore(store, 'wasm', adopted, SMALL);
    expect(await engine.federatedUpdate(spec())).toEqual({ ok: false, code: 'ERR_FL_NO_DATA' });
    await engine.ingest(typing(TRAINING_PRESSES, 3), 'sid-1', ALICE);
    expect((await engine.status(ALICE)).modelVersion).toContain('+K');

    const update = await engine.federatedUpdate(spec());
    expect(update).toMatchObject({ ok: true, bytes: updateByteLength(P, SHIPPED_ID) });

    const text = nextVersion(2);
    const newId = encoderId(encoderFromJSON(JSON.parse(text)));
    expect(newId).not.toBe(SHIPPED_ID);
    // The round made the subject's kept target and stored it, sealed, before replying.
    const target = await store.loadTarget(ALICE.subjectKey, 'keystroke', SEQUENCE_SCHEMA_VERSION);
    expect(target).toHaveLength(48);

    // Centres that are not this encoder's (version 1's): nothing adopted, nothing stored.
    expect(await engine.adoptEncoder(text, 2, newId, centresOf(nextVersion(1)))).toEqual({
      ok: false,
      code: 'ERR_MODEL_CENTRES',
    });
    // A signed `enc` claim that names another encoder than the one carried, or an encoder that
    // does not load: nothing adopted, nothing stored.
    const centres = centresOf(text);
    for (const [body, enc] of [
      [text, SHIPPED_ID],
      [text, `${newId}x`],
      ['{"format":"not an encoder"}', newId],
      ['not json', newId],
    ] as const) {
      expect(await engine.adoptEncoder(body, 2, enc, centres)).toEqual({
        ok: false,
        code: 'ERR_MODEL_ENCODER',
      });
    }
    expect(await adopted.load('keystroke')).toBeUndefined();
    expect(await engine.federatedUpdate(spec())).toMatchObject({ ok: true });

    expect(await engine.adoptEncoder(text, 2, newId, centres)).toEqual({
      ok: true,
      encoderId: newId,
      refitted: 1,
    });
    // The per-user embedding model was refitted with the new encoder from the stored windows.
    const saved = await store.loadModel(ALICE.subjectKey, 'keystroke');
    expect((saved?.embedding as { encoderId?: string } | undefined)?.encoderId).toBe(newId);
    expect((await engine.status(ALICE)).modelVersion).toContain('+K');
    expect((await store.counts()).windows[ALICE.subjectKey]).toBe(
      PRODUCT.minEnrollWindows.keystroke,
    );
    // Rounds now train the adopted encoder only, against the centres that came with it.
    expect(await engine.federatedUpdate(spec())).toEqual({ ok: false, code: 'ERR_FL_ENCODER' });
    const v2Update = await engine.federatedUpdate(spec({ encoderId: newId }));
    expect(v2Update).toMatchObject({ ok: true, bytes: updateByteLength(P, newId) });
    // The target is the one made under the first version trained, not one remade under v2.
    expect(await store.loadTarget(ALICE.subjectKey, 'keystroke', SEQUENCE_SCHEMA_VERSION)).toEqual(
      target,
    );
    // Adopting it again changes nothing.
    expect(await engine.adoptEncoder(text, 2, newId, centres)).toEqual({
      ok: true,
      encoderId: newId,
      refitted: 0,
    });

    const restarted = Engine.withStore(store, 'wasm', adopted, SMALL);
    await restarted.loadAdopted();
    expect(await restarted.federatedUpdate(spec())).toEqual({ ok: false, code: 'ERR_FL_ENCODER' });
    expect(await restarted.federatedUpdate(spec({ encoderId: newId }))).toMatchObject({
      ok: true,
    });
    expect(await store.loadTarget(ALICE.subjectKey, 'keystroke', SEQUENCE_SCHEMA_VERSION)).toEqual(
      target,
    );
    // The subject removed (retention takes its windows and model): its target goes with it.
    await restarted.applyRetention(-60_000);
    expect(await store.counts()).toEqual({ windows: {}, models: {} });
    expect(
      await store.loadTarget(ALICE.subjectKey, 'keystroke', SEQUENCE_SCHEMA_VERSION),
    ).toBeUndefined();
  }, 120_000);

  it("a re-enrolment (the stored model refused at load) drops the subject's kept target", async () => {
    const store = await ModelStore.open('fl-engine-reenrol');
    const engine = Engine.withStore(store, 'wasm', null, SMALL);
    await engine.ingest(typing(TRAINING_PRESSES, 4), 'sid-3', ALICE);
    expect(await engine.federatedUpdate(spec())).toMatchObject({ ok: true });
    const seq = SEQUENCE_SCHEMA_VERSION;
    expect(await store.loadTarget(ALICE.subjectKey, 'keystroke', seq)).toHaveLength(48);
    // A model this build cannot read (another format): the subject enrols again.
    await store.saveModel(ALICE.subjectKey, 'keystroke', { format: 'another' });
    const restarted = Engine.withStore(store, 'wasm', null, SMALL);
    await restarted.status(ALICE);
    expect(await store.loadTarget(ALICE.subjectKey, 'keystroke', seq)).toBeUndefined();
  }, 60_000);

  it('an encoder adopted before versions carried centres (store format 1) still scores; only frozen-centres rounds are skipped', async () => {
    const name = 'fl-adopted-v1';
    const text = nextVersion(2);
    const newId = encoderId(encoderFromJSON(JSON.parse(text)));
    // The database as the previous build left it: version 1, a record without centres.
    const old = await openDB(name, 1, {
      upgrade: (db) => void db.createObjectStore('encoders'),
    });
    await old.put('encoders', { version: 1, ver: 2, text, adoptedAt: 1 }, 'keystroke');
    old.close();

    const adopted = new AdoptedEncoderStore(name);
    expect(await adopted.load('keystroke')).toMatchObject({ version: 2, ver: 2, centres: null });
    const store = await ModelStore.open('fl-engine-v1');
    const engine = Engine.withStore(store, 'wasm', adopted, {
      ...SMALL,
      objective: 'frozen-centres',
    });
    await engine.loadAdopted();
    await engine.ingest(typing(TRAINING_PRESSES, 5), 'sid-2', ALICE);
    // It scores with the adopted encoder: the per-user model is fitted under its id.
    const saved = await store.loadModel(ALICE.subjectKey, 'keystroke');
    expect((saved?.embedding as { encoderId?: string } | undefined)?.encoderId).toBe(newId);
    expect(await engine.federatedUpdate(spec({ encoderId: newId }))).toEqual({
      ok: false,
      code: 'ERR_FL_NO_CENTRES',
    });
    // The shipped positive-only pull needs no centres: the same device takes part.
    const shippedRound = Engine.withStore(store, 'wasm', adopted, SMALL);
    await shippedRound.loadAdopted();
    expect(await shippedRound.federatedUpdate(spec({ encoderId: newId }))).toMatchObject({
      ok: true,
    });
  }, 120_000);
});
