import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { OtpSignal, resolveOtpConfig } from './otp';

/** Key-downs (and their ups) at the given times (ms) in a one-time-code field. */
function code(times: readonly number[], f: number = FLAG.otp, c: 'digit' | 'backspace' = 'digit') {
  return times.flatMap((t, i): RawEvent[] => [
    { t, k: 'kd', c, i: 100 + i + t, f },
    { t: t + 80, k: 'ku', c, i: 100 + i + t, f },
  ]);
}

describe('one-time-code hesitation signal', () => {
  it('does not flag a code typed in one go, or in two halves', () => {
    const s = new OtpSignal();
    s.push(code([0, 250, 520, 760, 1000, 1300]));
    s.push([{ t: 1400, k: 'kd', c: 'letter', i: 1 }]); // typing elsewhere ends the entry
    s.push(code([5000, 5200, 5400, 9000, 9200, 9400]));
    expect(s.value()).toBe(0);
  });

  it('flags stop-and-go entry: a pause before most digits', () => {
    const s = new OtpSignal();
    s.push(code([0, 2500, 5200, 5400, 8000, 11000]));
    expect(s.value()).toBe(1);
  });

  it('counts corrections and long pauses', () => {
    const s = new OtpSignal();
    s.push(code([0, 300, 600]));
    s.push(code([900], FLAG.otp, 'backspace'));
    s.push(code([10_000, 10_300])); // 9 s: a long pause, counts twice
    expect(s.value()).toBeCloseTo(0.75);
  });

  it('does not count a pause across the page losing focus (fetching the code elsewhere)', () => {
    const s = new OtpSignal();
    s.push(code([0, 200, 400]));
    s.push([{ t: 500, k: 'br' }]);
    s.push(code([20_000, 20_200, 20_400]));
    expect(s.value()).toBe(0);
  });

  it('ignores keys outside one-time-code fields and untrusted ones', () => {
    const s = new OtpSignal();
    s.push(code([0, 3000, 6000, 9000, 12000], 0));
    s.push(code([0, 3000, 6000, 9000, 12000], FLAG.otp | FLAG.untrusted));
    expect(s.value()).toBe(0);
  });

  it('refuses a bad config, quoting the value', () => {
    expect(() => resolveOtpConfig({ fullPauses: 1 })).toThrow(/fullPauses.*got 1/);
  });
});
