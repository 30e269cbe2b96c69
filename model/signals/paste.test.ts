import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { PasteSignal } from './paste';

describe('credential paste/autofill signal', () => {
  it('counts text arriving without keys in password, one-time-code and credential fields', () => {
    const s = new PasteSignal();
    const events: RawEvent[] = [
      { t: 1, k: 'in', f: FLAG.paste | FLAG.password },
      { t: 2, k: 'in', n: 6, f: FLAG.autofill | FLAG.otp },
      { t: 3, k: 'in', n: 22, f: FLAG.paste | FLAG.credential },
      // Not counted: an ordinary field, a composition, a page script's event, a key event.
      { t: 4, k: 'in', n: 12, f: FLAG.paste },
      { t: 5, k: 'in', n: 1, f: FLAG.composing | FLAG.otp },
      { t: 6, k: 'in', n: 6, f: FLAG.untrusted | FLAG.paste | FLAG.otp },
      { t: 7, k: 'kd', c: 'digit', i: 1, f: FLAG.otp },
    ];
    s.push(events);
    expect(s.value()).toBe(3);
    s.push(events.slice(0, 1));
    expect(s.value()).toBe(4);
  });
});
