import { describe, expect, it } from 'vitest';
import type { RawEvent } from '../events/schema';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { refuseTrainingUsers } from './eval-run';
import { userFingerprint } from './training-identity';

const data = (seed: number): RawEvent[] => syntheticKeystrokes(TYPIST_A, 30, { seed });
const user = (userId: string, seed: number) => ({ userId, sequences: [data(seed)] });
const fp = (u: { sequences: RawEvent[][] }) => userFingerprint(u.sequences[0]!);

describe('userFingerprint', () => {
  it('is the same for the same data and differs for other data', () => {
    expect(userFingerprint(data(1))).toBe(userFingerprint(data(1)));
    expect(userFingerprint(data(1))).not.toBe(userFingerprint(data(2)));
    expect(userFingerprint(data(1))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('refuseTrainingUsers', () => {
  const trained = [user('user7', 1), user('user8', 2)];
  const model = {
    trainingUsers: new Set(['sapimouse:user7', 'sapimouse:user8']),
    trainingFingerprints: new Set(trained.map(fp)),
  };

  it('refuses a training user by their data, whatever the folder is called', () => {
    expect(() => refuseTrainingUsers([user('renamed', 1)], 'sapimouse', model, fp)).toThrow(
      /1 of the test users were used to train this encoder/,
    );
  });

  it('accepts another dataset’s user7: same name, other data', () => {
    expect(refuseTrainingUsers([user('user7', 3)], 'sapimouse', model, fp)).toHaveLength(1);
  });

  it('falls back to data set and id for an older training.json without fingerprints', () => {
    const old = { trainingUsers: model.trainingUsers, trainingFingerprints: null };
    expect(() => refuseTrainingUsers([user('user7', 3)], 'sapimouse', old, fp)).toThrow(TypeError);
    expect(refuseTrainingUsers([user('user7', 3)], 'aalto', old, fp)).toHaveLength(1);
  });
});
