import { describe, expect, it } from 'vitest';
import type { KeyClass } from '../events/schema';
import { createWindower } from '../features/windower';
import { parsePohmm, pohmmKeyClass } from './pohmm';

describe('parsePohmm', () => {
  it('reads keypad.csv: per user, one sequence per session', () => {
    const data = parsePohmm(
      [
        'user,session,timepress,timerelease,keycode,keyname',
        '0,0,0,78,105,numpad_9',
        '0,0,453,516,97,numpad_1',
        '0,0,900,980,13,enter',
        '0,1,0,70,105,numpad_9',
        '1,0,10,60,105,numpad_9',
        '1,0,x,60,105,numpad_9', // malformed time
        '1,0,200,150,97,numpad_1', // released before pressed
        '1,0,300,350', // missing fields
      ].join('\n'),
    );
    expect(data.users.map((u) => [u.userId, u.sequenceIds])).toEqual([
      ['0', ['0', '1']],
      ['1', ['0']],
    ]);
    expect(data.users[0]!.sequences[0]).toEqual([
      { t: 0, k: 'kd', c: 'digit', i: 1 },
      { t: 78, k: 'ku', c: 'digit', i: 1 },
      { t: 453, k: 'kd', c: 'digit', i: 2 },
      { t: 516, k: 'ku', c: 'digit', i: 2 },
      { t: 900, k: 'kd', c: 'enter', i: 3 },
      { t: 980, k: 'ku', c: 'enter', i: 3 },
    ]);
    // Times start at the session's first press even if the file's do not.
    expect(data.users[1]!.sequences[0]).toEqual([
      { t: 0, k: 'kd', c: 'digit', i: 1 },
      { t: 50, k: 'ku', c: 'digit', i: 1 },
    ]);
    expect(data.stats).toEqual({ rows: 8, malformed: 2, releaseBeforePress: 1 });
  });

  it('reads fixed_text.csv (other column order) with shift roll-over', () => {
    const data = parsePohmm(
      [
        'user,session,keyname,timepress,timerelease',
        '0,0,shift,0,374',
        '0,0,t,296,374',
        '0,0,h,561,640',
        '0,0,space,700,760',
        '0,0,period,800,850',
      ].join('\n'),
    );
    const [seq] = data.users[0]!.sequences;
    expect(seq!.filter((e) => e.k === 'kd').map((e) => e.c)).toEqual([
      'modifier',
      'letter',
      'letter',
      'space',
      'punct',
    ]);
    // t up at 374 together with shift: shift's ku (row order) first.
    expect(seq!.slice(0, 4)).toEqual([
      { t: 0, k: 'kd', c: 'modifier', i: 1 },
      { t: 296, k: 'kd', c: 'letter', i: 2 },
      { t: 374, k: 'ku', c: 'modifier', i: 1 },
      { t: 374, k: 'ku', c: 'letter', i: 2 },
    ]);
    const windows = createWindower({ keysPerWindow: 5 }).push(seq!);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.vector.every(Number.isFinite)).toBe(true);
  });

  it('refuses a file without the needed columns', () => {
    expect(() => parsePohmm('user,session,keyname\n0,0,a')).toThrow(/missing column/);
  });
});

describe('pohmmKeyClass', () => {
  const cases: [string, KeyClass][] = [
    ['a', 'letter'],
    ['Z', 'letter'],
    ['9', 'digit'],
    ['numpad_4', 'digit'],
    ['space', 'space'],
    ['enter', 'enter'],
    ['backspace', 'backspace'],
    ['delete', 'backspace'],
    ['shift', 'modifier'],
    ['shift_r', 'modifier'],
    ['caps_lock', 'modifier'],
    ['windows', 'modifier'],
    ['command', 'modifier'],
    ['left', 'nav'],
    ['end', 'nav'],
    ['period', 'punct'],
    ['quote', 'punct'],
    ['dash', 'punct'],
    [';', 'punct'],
    ['f5', 'other'],
  ];
  it.each(cases)('classes %j as %s', (name, expected) => {
    expect(pohmmKeyClass(name)).toBe(expected);
  });
});
