import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FEDERATED_DEFAULTS } from '../../model/federated/config';
import { AggregatorConfigError, loadAggregatorConfig } from './config';

/** The public users' dataset (pohmm); a tiny one in its format when it is not here. */
const POHMM = join(import.meta.dirname, '../../../shared/datasets/pohmm');
function publicData(): string {
  if (existsSync(POHMM)) return POHMM;
  const dir = mkdtempSync(join(tmpdir(), 'agg-pohmm-'));
  const presses = Array.from({ length: 12 }, (_, i) => i * 250);
  writeFileSync(
    join(dir, 'keypad.csv'),
    `user,session,timepress,timerelease,keycode,keyname\n${presses.map((t, i) => `0,0,${t},${t + 90},${97 + (i % 9)},numpad_${1 + (i % 9)}`).join('\n')}\n`,
  );
  writeFileSync(join(dir, 'fixed_text.csv'), 'user,session,keyname,timepress,timerelease\n');
  return dir;
}

const REQUIRED = {
  TACIT_FL_ADMIN_KEY: 'operator-secret-0123456789abcdef',
  TACIT_FL_VERIFIER_KEY: 'aggregator-secret-0123456789abcdef',
  TACIT_FL_PUBLIC_DATA: publicData(),
};

describe('loadAggregatorConfig', () => {
  it('takes the training defaults from FEDERATED_DEFAULTS', () => {
    const c = loadAggregatorConfig(REQUIRED, '/srv');
    expect(c).toMatchObject({
      port: 8789,
      dbPath: '/srv/data/aggregator.db',
      minDevices: FEDERATED_DEFAULTS.minDevices,
      clipNorm: FEDERATED_DEFAULTS.clipNorm,
      noiseMultiplier: FEDERATED_DEFAULTS.noiseMultiplier,
      aggregation: FEDERATED_DEFAULTS.aggregation,
      epsilonBudget: 8,
      delta: 1e-5,
      samplingRate: 1,
      uploadRateLimit: 600,
    });
  });

  it('reads the initial encoder and every setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agg-config-'));
    writeFileSync(join(dir, 'e.json'), '{"x":1}');
    const c = loadAggregatorConfig(
      {
        ...REQUIRED,
        TACIT_FL_INITIAL_ENCODER: 'e.json',
        TACIT_FL_AGGREGATION: 'median',
        TACIT_FL_MIN_DEVICES: '20',
        TACIT_FL_SAMPLING_RATE: '0.05',
        TACIT_FL_PORT: '0',
        TACIT_FL_UPLOAD_RATE_LIMIT: '0',
      },
      dir,
    );
    expect(c.initialEncoder).toBe('{"x":1}');
    expect(c.aggregation).toEqual({ method: 'median' });
    expect([c.minDevices, c.samplingRate, c.port, c.uploadRateLimit]).toEqual([20, 0.05, 0, 0]);
  });

  it('fails fast, naming every bad variable and never its value', () => {
    const bad = {
      TACIT_FL_ADMIN_KEY: 'short-secret-xy',
      TACIT_FL_SAMPLING_RATE: '0',
      TACIT_FL_AGGREGATION: 'krum',
      TACIT_FL_DELTA: '1',
      TACIT_FL_UPLOAD_RATE_LIMIT: '-5',
      TACIT_FL_VERIFIER_URL: 'ftp://x',
      TACIT_FL_INITIAL_ENCODER: '/nonexistent/encoder.json',
    };
    let err: unknown;
    try {
      loadAggregatorConfig(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AggregatorConfigError);
    const message = (err as Error).message;
    for (const name of [
      'TACIT_FL_ADMIN_KEY',
      'TACIT_FL_VERIFIER_KEY',
      'TACIT_FL_SAMPLING_RATE',
      'TACIT_FL_AGGREGATION',
      'TACIT_FL_DELTA',
      'TACIT_FL_UPLOAD_RATE_LIMIT',
      'TACIT_FL_VERIFIER_URL',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('short-secret-xy');
    expect(() =>
      loadAggregatorConfig({ ...REQUIRED, TACIT_FL_INITIAL_ENCODER: '/nonexistent' }),
    ).toThrow(/TACIT_FL_INITIAL_ENCODER: cannot read the file \(ENOENT\)/);
  });

  it('needs the public users: a readable pohmm directory with a usable user', () => {
    const c = loadAggregatorConfig(REQUIRED, '/srv');
    expect(c.publicUsers.length).toBeGreaterThan(0);
    const { TACIT_FL_PUBLIC_DATA: _, ...without } = REQUIRED;
    expect(() => loadAggregatorConfig(without)).toThrow(/TACIT_FL_PUBLIC_DATA: required/);
    const secret = '/nonexistent/secret-place';
    let message = '';
    try {
      loadAggregatorConfig({ ...REQUIRED, TACIT_FL_PUBLIC_DATA: secret });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/TACIT_FL_PUBLIC_DATA: cannot read the pohmm dataset \(ENOENT\)/);
    expect(message).not.toContain(secret);
    const empty = mkdtempSync(join(tmpdir(), 'agg-empty-pohmm-'));
    const header = (cols: string) =>
      writeFileSync(join(empty, cols.split(':')[0]!), cols.split(':')[1]!);
    header('keypad.csv:user,session,timepress,timerelease,keycode,keyname\n');
    header('fixed_text.csv:user,session,keyname,timepress,timerelease\n');
    expect(() => loadAggregatorConfig({ ...REQUIRED, TACIT_FL_PUBLIC_DATA: empty })).toThrow(
      /TACIT_FL_PUBLIC_DATA: the pohmm dataset has no usable user/,
    );
  });
});
