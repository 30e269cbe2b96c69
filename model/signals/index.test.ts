import { describe, expect, it } from 'vitest';
import { FLAG } from '../events/schema';
import { SignalTracker } from '.';

describe('SignalTracker', () => {
  it('reports every signal of a session with its own value, content-free', () => {
    const s = new SignalTracker();
    expect(s.values()).toEqual({ bot: 0, remote: 0, paste: 0, otp: 0, syn: 0 });
    s.push({
      events: [
        { t: 1, k: 'kd', c: 'letter', i: 1, f: FLAG.untrusted },
        { t: 2, k: 'in', f: FLAG.paste | FLAG.password },
      ],
    });
    expect(s.values()).toEqual({ bot: 0.33, remote: 0, paste: 1, otp: 0, syn: 1 });
    s.push({ events: [], automation: true });
    expect(s.values().bot).toBe(1);
  });
});
