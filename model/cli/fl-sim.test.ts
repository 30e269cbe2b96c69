/**
 * `npm run fl:sim` end to end at toy size, so it cannot rot: real verifier and aggregator
 * processes, real device keys, the real client code, the product scorer on 2 held-out users.
 * Figures at this size mean nothing; the shape, the signatures and the plumbing do.
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FL_SIM_USAGE, parseFlSimArgs, poison, runFlSim, writeFlSimReport } from './fl-sim-run';
import { PrivacyAccountant } from '../federated/accountant';
import { FEDERATED_DEFAULTS } from '../federated/config';
import { l2Norm } from '../federated/privatise';

const AALTO = join(import.meta.dirname, '../../../shared/datasets/aalto-dev');
const POHMM = join(import.meta.dirname, '../../../shared/datasets/pohmm');
const HAVE_DATA = existsSync(AALTO) && existsSync(POHMM);

/**
 * A pohmm directory of the first `users` users of each file (rows as they are): the
 * aggregator's public users at toy size, so each version's centres cost little.
 */
function pohmmSubset(dir: string, users: number): string {
  mkdirSync(dir, { recursive: true });
  for (const file of ['keypad.csv', 'fixed_text.csv']) {
    const [header, ...rows] = readFileSync(join(POHMM, file), 'utf8').trimEnd().split('\n');
    const kept = new Set<string>();
    const lines = rows.filter((row) => {
      const user = row.slice(0, row.indexOf(','));
      if (!kept.has(user) && kept.size < users) kept.add(user);
      return kept.has(user);
    });
    writeFileSync(join(dir, file), `${[header, ...lines].join('\n')}\n`);
  }
  return dir;
}

let out: string;
beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  out = mkdtempSync(join(tmpdir(), 'fl-sim-test-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('parseFlSimArgs', () => {
  it('takes the documented options and refuses bad ones', () => {
    const a = parseFlSimArgs(['--data', 'd', '--clients', '5', '--rounds', '2', '--out', 'o.json']);
    expect(a).toMatchObject({ clients: 5, rounds: 2, attackers: 0, aggregate: 'trimmed-mean' });
    expect(a.noiseMultiplier).toBe(FEDERATED_DEFAULTS.noiseMultiplier);
    expect(
      parseFlSimArgs(['--data=d', '--clients=5', '--out=o', '--noise-multiplier=0.15'])
        .noiseMultiplier,
    ).toBe(0.15);
    expect(
      parseFlSimArgs([
        '--data=d',
        '--clients=5',
        '--out=o',
        '--attackers=0.1',
        '--attack=sign-flip',
        '--aggregate=median',
      ]),
    ).toMatchObject({ attackers: 0.1, attack: 'sign-flip', aggregate: 'median' });
    for (const bad of [
      ['--clients', '5', '--out', 'o'],
      ['--data', 'd', '--clients', '1', '--out', 'o'],
      ['--data', 'd', '--clients', '5', '--out', 'o', '--attack', 'nuke'],
      ['--data', 'd', '--clients', '5', '--out', 'o', '--aggregate', 'krum'],
      ['--data', 'd', '--clients', '5', '--out', 'o', '--attackers', '0.7'],
      ['--data', 'd', '--clients', '5', '--out', 'o', '--bogus', '1'],
      ['--data', 'd', '--clients', '5', '--out', 'o', '--noise-multiplier', '-1'],
    ]) {
      expect(() => parseFlSimArgs(bad), bad.join(' ')).toThrow(TypeError);
    }
    expect(FL_SIM_USAGE).toContain('--attackers');
  });

  it('a poisoning update stays under the bound, along (or against) the honest direction', () => {
    const d = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    for (const attack of ['scale', 'sign-flip'] as const) {
      const p = poison(d, attack, 20, 1);
      expect(l2Norm(p)).toBeLessThan(20);
      expect(l2Norm(p)).toBeGreaterThan(15);
      expect(Math.sign(p[1]!)).toBe(attack === 'scale' ? 1 : -1);
    }
  });
});

describe.skipIf(!HAVE_DATA)('runFlSim (toy size)', () => {
  it('runs 2 rounds of 4 devices through the real processes and writes the report and its SVG', async () => {
    const args = parseFlSimArgs([
      '--data',
      AALTO,
      '--clients',
      '4',
      '--rounds',
      '2',
      '--eval-users',
      '2',
      '--min-devices',
      '4',
      '--sample-rate',
      '1',
      '--central-epochs',
      '1',
      '--public-data',
      pohmmSubset(join(out, 'pohmm'), 6),
      '--out',
      join(out, 'r.json'),
    ]);
    const report = await runFlSim(args, {
      localUpdate: { steps: 1, batchSize: 4 },
      detector: { epochs: 2 },
    });
    // The devices trained against the centres the aggregator served: 6 + 6 public users.
    expect(report.settings.publicUsers).toBe(12);
    expect(report.clients).toBe(4);
    expect(report.evalUsers).toBe(2);
    // q = 1 and the shipped σ: what the accountant says for one, then two such rounds.
    const accountant = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: 1000 });
    const sigma = FEDERATED_DEFAULTS.noiseMultiplier;
    const expected = [1, 2].map(() => accountant.spend(1, sigma).total.epsilon);
    expect(report.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(report.rounds[0]!.epsilon).toBeCloseTo(expected[0]!, 6);
    expect(report.rounds[1]!.epsilon).toBeCloseTo(expected[1]!, 6);
    expect(report.final.epsilon).toBeLessThanOrEqual(FEDERATED_DEFAULTS.epsilonBudget);
    // The shipped encoder's 26,592 parameters: 27,067 TFLU bytes with its 42-byte id; round 2
    // trains from version 2, whose id carries `+fl2` (4 bytes more).
    expect(report.rounds.map((r) => r.updateBytes)).toEqual([27_067, 27_071]);
    for (const r of report.rounds) {
      expect(r.contributors).toBe(4);
      expect(r.eer).toBeGreaterThanOrEqual(0);
      expect(r.eer).toBeLessThanOrEqual(1);
      // Base64url and signed, in a JSON body.
      expect(r.bytesPerClient).toBeGreaterThan(36_000);
      expect(r.bytesPerClient).toBeLessThan(37_000);
    }
    expect(report.rounds.map((r) => r.version)).toEqual([2, 3]);
    // The shipped setting (run K): every device made its kept target in round 1 and trained
    // towards it (the positive-only pull refuses to run without one).
    expect(FEDERATED_DEFAULTS.anchorOwnCentre).toBe(true);
    expect(report.runs[0]!.deviceTargets).toBe(4);
    for (const k of ['shipped', 'central'] as const) {
      expect(report[k].eer).toBeGreaterThanOrEqual(0);
      expect(report[k].eer).toBeLessThanOrEqual(1);
    }
    const paths = writeFlSimReport(report, args.out);
    expect(JSON.parse(readFileSync(paths.json, 'utf8')).rounds).toHaveLength(2);
    const svg = readFileSync(paths.svg, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('shipped encoder');
    expect(svg).toContain('central, same clients');
  }, 120_000);
});
