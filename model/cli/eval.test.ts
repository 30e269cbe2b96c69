import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EvalReport, EvalSummary } from '../eval/report';
import { parseEvalArgs, runEval, svgPathFor, writeReport } from './eval-run';
import { PRODUCT } from '../product/scorer';
import { calibrationEncoder, parseCalibrateArgs, runCalibrate } from './calibrate-run';

/** The shared public datasets, beside the repository (skipped when absent). */
const datasets = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/datasets');
const has = (d: string): boolean => existsSync(join(datasets, d));
/** A tiny budget: a smoke test of shapes and ranges, not of accuracy. */
const tiny = { detector: { epochs: 5 } };

function expectSummary(s: EvalSummary): void {
  expect(s.users).toBeGreaterThan(0);
  expect(s.samples.genuine).toBeGreaterThan(0);
  expect(s.samples.impostor).toBeGreaterThan(0);
  for (const x of [
    s.eer,
    s.auc,
    s.frrAtFar1,
    s.frrAtFar01,
    s.perUserEer.mean,
    s.perUserEer.median,
    s.perUserEer.p90,
  ]) {
    expect(x).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThanOrEqual(1);
  }
  expect(s.frrAtFar01).toBeGreaterThanOrEqual(s.frrAtFar1);
  expect(s.perUserEer.n).toBe(s.users);
  expect(s.roc[0]).toMatchObject({ far: 0, frr: 1 });
  expect(s.roc[s.roc.length - 1]).toMatchObject({ far: 1, frr: 0 });
}

function expectReport(r: EvalReport, task: string): void {
  expect(r.task).toBe(task);
  expectSummary(r);
  expect(typeof r.published.source).toBe('string');
  expect(r.run?.['wallSeconds']).toBeGreaterThan(0);
  const back = JSON.parse(JSON.stringify(r)) as EvalReport; // JSON-safe
  expect(back.eer).toBe(r.eer);
  // Continuous-authentication figures (model/eval/continuous.ts) in every report.
  // The product scorer is the headline; each component alone is an ablation.
  const modality = task === 'mouse-sapimouse' ? 'pointer' : 'keystroke';
  expect(Object.keys(r.ablations ?? {}).sort()).toEqual([...PRODUCT.components[modality]].sort());
  for (const a of Object.values(r.ablations!)) expect(a.eer).toBeGreaterThanOrEqual(0);
  const c = r.continuous!;
  expect(c.decision.falseAlarmWindows).toBe(PRODUCT.decision.falseAlarmWindows);
  if (task === 'keystroke-fixed') {
    // A fixed-text user (4 × ~100 keys) holds about the product's keystroke enrolment and no
    // more: there is no session left to run (the note says so).
    expect(r.notes.some((n) => n.startsWith('continuous:'))).toBe(true);
  } else {
    expect(c.genuine.sessions).toBeGreaterThan(0);
    expect(c.impostor.pairs).toBeGreaterThan(0);
  }
  for (const x of [c.impostor.neverFlaggedFraction, c.genuine.noFalseFlagFraction]) {
    expect(x).toBeGreaterThanOrEqual(0);
    expect(x).toBeLessThanOrEqual(1);
  }
  expect(back.continuous).toEqual(c);
}

describe('parseEvalArgs', () => {
  it('reads the task and options', () => {
    expect(
      parseEvalArgs([
        'keystroke-aalto',
        '--data',
        'd',
        '--users',
        '5',
        '--offset=10',
        '--out',
        'r.json',
      ]),
    ).toEqual({
      task: 'keystroke-aalto',
      data: 'd',
      users: 5,
      offset: 10,
      out: 'r.json',
      backend: 'wasm',
    });
  });

  it('refuses unknown tasks, options and bad numbers', () => {
    expect(() => parseEvalArgs(['nope', '--data', 'd'])).toThrow(TypeError);
    expect(() => parseEvalArgs(['keystroke-aalto'])).toThrow(/--data/);
    expect(() => parseEvalArgs(['keystroke-aalto', '--data', 'd', '--user', '3'])).toThrow(
      /--user/,
    );
    expect(() => parseEvalArgs(['keystroke-aalto', '--data', 'd', '--users', '1.5'])).toThrow(
      /--users/,
    );
    expect(() => parseEvalArgs(['keystroke-aalto', '--data', 'd', '--backend', 'gpu'])).toThrow(
      /backend/,
    );
  });

  it('puts the SVG beside the JSON', () => {
    expect(svgPathFor('out/report.json')).toBe('out/report.roc.svg');
    expect(svgPathFor('out/report')).toBe('out/report.roc.svg');
  });
});

describe('npm run eval on a few real users', () => {
  it.skipIf(!has('aalto-dev'))('keystroke-aalto', async () => {
    const r = await runEval(
      parseEvalArgs(['keystroke-aalto', '--data', join(datasets, 'aalto-dev'), '--users', '5']),
      tiny,
    );
    expectReport(r, 'keystroke-aalto');
    expect(r.usersLoaded).toBe(5);
    expect(r.samples.genuine + r.emptyQueries.genuine).toBe(5 * r.fits);
    expect(r.published.eer).toBe(0.048);
  });

  /** A calibration learned on other users of the same data, as `npm run calibrate` writes it. */
  async function calibrationOn(task: 'keystroke' | 'pointer', data: string, offset: number) {
    const dir = mkdtempSync(join(tmpdir(), 'tacit-cal-'));
    const out = join(dir, 'calibration.json');
    const args = parseCalibrateArgs([
      task,
      '--data',
      data,
      '--users',
      '6',
      '--offset',
      String(offset),
      '--out',
      out,
    ]);
    await runCalibrate(args, calibrationEncoder(args), () => {}, tiny.detector);
    return out;
  }

  it.skipIf(!has('sapimouse-dev'))(
    'mouse-sapimouse: refuses the users the shipped calibration learned on',
    async () => {
      await expect(
        runEval(
          parseEvalArgs([
            'mouse-sapimouse',
            '--data',
            join(datasets, 'sapimouse-dev'),
            '--users',
            '4',
          ]),
          tiny,
        ),
      ).rejects.toThrow(/trained the pointer calibration/);
    },
  );

  it.skipIf(!has('sapimouse-dev'))('mouse-sapimouse, with byBlocks and the SVG', async () => {
    const data = join(datasets, 'sapimouse-dev');
    const calibration = await calibrationOn('pointer', data, 10);
    const r = await runEval(
      parseEvalArgs([
        'mouse-sapimouse',
        '--data',
        data,
        '--users',
        '4',
        '--calibration',
        calibration,
      ]),
      tiny,
    );
    expectReport(r, 'mouse-sapimouse');
    expect(Object.keys(r.byBlocks ?? {})).toEqual(['1', '3', '5']);
    for (const s of Object.values(r.byBlocks!)) expectSummary(s);
    expect(r.byBlocks!['1']!.samples.genuine).toBeGreaterThan(r.byBlocks!['5']!.samples.genuine);
    expect(r.eer).toBe(r.byBlocks!['3']!.eer);
    const dir = mkdtempSync(join(tmpdir(), 'tacit-eval-'));
    try {
      const paths = writeReport(r, join(dir, 'report.json'));
      expect(JSON.parse(readFileSync(paths.json, 'utf8')).task).toBe('mouse-sapimouse');
      const svg = readFileSync(paths.svg, 'utf8');
      expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
      expect(svg).toContain('3 blocks');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!has('pohmm'))('keystroke-fixed', async () => {
    const data = join(datasets, 'pohmm');
    const calibration = await calibrationOn('keystroke', data, 10);
    const r = await runEval(
      parseEvalArgs([
        'keystroke-fixed',
        '--data',
        data,
        '--users',
        '4',
        '--folds',
        '2',
        '--calibration',
        calibration,
      ]),
      tiny,
    );
    expectReport(r, 'keystroke-fixed');
    expect(r.fits).toBe(8); // 4 fixed-text users × 2 folds; PIN entries hold no product window
    expect(r.skipped.filter((s) => s.userId.startsWith('keypad:'))).toHaveLength(4);
  });
});
