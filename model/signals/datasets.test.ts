/**
 * The signals on genuine recorded behaviour (the shared public datasets): what share of real
 * people each signal flags (value ≥ 0.5). Keystrokes: the first 200 Aalto participants and the
 * pohmm fixed-text samples (bot); every SapiMouse session (remote); the pohmm keypad entries,
 * treated as one-time-code entries (OTP hesitation).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAalto, loadPohmm, loadSapiMouse } from '../cli/load-datasets';
import { FLAG, type RawEvent } from '../events/schema';
import { BotSignal } from './bot';
import { OtpSignal } from './otp';
import { RemoteSignal } from './remote';

const DATASETS = resolve(import.meta.dirname, '../../../shared/datasets');
const FLAGGED = 0.5;

/** Share of `values` at or above {@link FLAGGED}. */
const flaggedShare = (values: readonly number[]): number =>
  values.filter((v) => v >= FLAGGED).length / values.length;

describe('signals on genuine recorded behaviour', () => {
  it('bot: no Aalto participant (200) and no pohmm fixed-text sample is flagged', () => {
    const aalto = loadAalto(resolve(DATASETS, 'aalto-dev'), { limit: 200 }).map((user) => {
      const s = new BotSignal();
      // Each typed sentence as its own page: a blur between them.
      for (const seq of user.sequences) s.push([...seq, { t: 0, k: 'br' }]);
      return s.value();
    });
    const fixed = loadPohmm(resolve(DATASETS, 'pohmm')).fixedText.users.flatMap((user) =>
      user.sequences.map((seq) => {
        const s = new BotSignal();
        s.push(seq);
        return s.value();
      }),
    );
    console.log(
      `bot flagged: aalto ${aalto.filter((v) => v >= FLAGGED).length}/${aalto.length}, ` +
        `pohmm fixed-text ${fixed.filter((v) => v >= FLAGGED).length}/${fixed.length}`,
    );
    expect(aalto).toHaveLength(200);
    expect(flaggedShare(aalto)).toBe(0);
    expect(flaggedShare(fixed)).toBe(0);
  });

  it('remote: no SapiMouse session (every user, both sessions) is flagged', () => {
    const values = loadSapiMouse(resolve(DATASETS, 'sapimouse-dev')).flatMap((user) =>
      [user.session3min, user.session1min].map((events) => {
        const s = new RemoteSignal();
        s.push(events);
        return s.value();
      }),
    );
    console.log(`remote flagged: ${values.filter((v) => v >= FLAGGED).length}/${values.length}`);
    expect(values.length).toBeGreaterThanOrEqual(140);
    expect(flaggedShare(values)).toBe(0);
  });

  it('otp: no pohmm keypad entry (30 users × 20) typed as a one-time code is flagged', () => {
    const values = loadPohmm(resolve(DATASETS, 'pohmm')).keypad.users.flatMap((user) =>
      user.sequences.map((seq) => {
        const s = new OtpSignal();
        s.push(seq.map((e): RawEvent => ({ ...e, f: (e.f ?? 0) | FLAG.otp })));
        return s.value();
      }),
    );
    console.log(`otp flagged: ${values.filter((v) => v >= FLAGGED).length}/${values.length}`);
    expect(values).toHaveLength(600);
    expect(flaggedShare(values)).toBe(0);
  });
});
