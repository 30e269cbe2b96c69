import { describe, expect, it } from 'vitest';
import type { KeyClass } from '../events/schema';
import { createWindower } from '../features/windower';
import { AALTO_COLUMNS, aaltoKeyClass, parseAalto } from './aalto';

const HEADER = AALTO_COLUMNS.join('\t');
/** One TSV row of participant `who`: the SENTENCE and USER_INPUT columns are not used. */
function row(
  section: string,
  id: number,
  press: string,
  release: string,
  letter: string,
  code: string,
  who = '42',
): string {
  return [who, section, 'Hi there.', 'Hi there.', String(id), press, release, letter, code].join(
    '\t',
  );
}

describe('parseAalto', () => {
  const text = [
    HEADER,
    row('7', 1, '1471948496904', '1471948497169', 'SHIFT', '16'), // Shift held over H
    row('7', 2, '1471948497058', '1471948497149', 'H', '72'),
    row('7', 3, '1471948497223', '1471948497304', 'i', '73'),
    row('7', 4, '1471948497300', '1471948497380', ' ', '32'),
    'truncated\trow',
    row('7', 5, '1471948497400', '1.471968e+12', 't', '84'), // a rounded time: malformed
    row('7', 6, '1471948497500', '1471948497450', 'h', '72'), // released before pressed
    row('7', 7, '1471948497600', '1471948497650', 'x', '88', '43'), // another participant
    '',
    row('9', 8, '1471948600000', '1471948600090', '', '69'), // empty LETTER: the key code decides
    row('9', 9, '1471948600120', '1471948600200', 'BKSP', '8'),
    '',
  ].join('\r\n');
  const user = parseAalto(text);

  it('gives one sequence per TEST_SECTION_ID in file order, with the participant id', () => {
    expect(user.userId).toBe('42');
    expect(user.sequenceIds).toEqual(['7', '9']);
    expect(user.sequences.map((s) => s.length)).toEqual([8, 4]);
  });

  it('turns rows into kd/ku events with class, press id and times from the first press', () => {
    expect(user.sequences[0]).toEqual([
      { t: 0, k: 'kd', c: 'modifier', i: 1 },
      { t: 154, k: 'kd', c: 'letter', i: 2 },
      { t: 245, k: 'ku', c: 'letter', i: 2 },
      { t: 265, k: 'ku', c: 'modifier', i: 1 },
      { t: 319, k: 'kd', c: 'letter', i: 3 },
      { t: 396, k: 'kd', c: 'space', i: 4 },
      { t: 400, k: 'ku', c: 'letter', i: 3 },
      { t: 476, k: 'ku', c: 'space', i: 4 },
    ]);
    expect(user.sequences[1]).toEqual([
      { t: 0, k: 'kd', c: 'letter', i: 1 },
      { t: 90, k: 'ku', c: 'letter', i: 1 },
      { t: 120, k: 'kd', c: 'backspace', i: 2 },
      { t: 200, k: 'ku', c: 'backspace', i: 2 },
    ]);
  });

  it('keeps nothing of the key but its class', () => {
    for (const e of user.sequences.flat())
      expect(Object.keys(e).sort()).toEqual(['c', 'i', 'k', 't']);
  });

  it('counts the rows it skipped, by reason', () => {
    expect(user.stats).toEqual({ rows: 10, malformed: 3, releaseBeforePress: 1 });
  });

  it('orders a zero-length press kd before ku', () => {
    const [seq] = parseAalto([HEADER, row('1', 1, '1000', '1000', 'a', '65')].join('\n')).sequences;
    expect(seq!.map((e) => e.k)).toEqual(['kd', 'ku']);
  });

  it('gives windows that the product pipeline can use', () => {
    const presses = Array.from({ length: 25 }, (_, k) =>
      row('3', k, String(1000 + 150 * k), String(1090 + 150 * k), 'a', '65'),
    );
    const [seq] = parseAalto([HEADER, ...presses].join('\n')).sequences;
    const windows = createWindower().push(seq!);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.vector[0]).toBeCloseTo(90, 5); // hold_mean
  });

  it('uses the fallback id for a file without usable rows and refuses a foreign header', () => {
    expect(parseAalto(`${HEADER}\nbad\n`, '77')).toMatchObject({
      userId: '77',
      sequences: [],
      stats: { rows: 1, malformed: 1 },
    });
    expect(() => parseAalto('user,session\n1,2')).toThrow(TypeError);
    expect(() => parseAalto('')).toThrow(/not an Aalto keystrokes file/);
  });
});

describe('aaltoKeyClass', () => {
  const cases: [string, number | undefined, KeyClass][] = [
    ['SHIFT', 16, 'modifier'],
    ['?', 16, 'modifier'], // a non-printing key code wins over a stray character
    ['CAPS_LOCK', 20, 'modifier'],
    ['CTRL', 17, 'modifier'],
    ['', 69, 'letter'],
    ['e', 69, 'letter'],
    ['ä', 0, 'letter'],
    ['é', 229, 'letter'],
    [' ', 32, 'space'],
    ['t', 32, 'space'],
    ['BKSP', 8, 'backspace'],
    ['\b', 8, 'backspace'],
    ['\b', 0, 'backspace'],
    ['DELETE', 46, 'backspace'],
    ['ENTER', undefined, 'enter'],
    ['', 13, 'enter'],
    ['', 49, 'digit'],
    ['1', 97, 'digit'],
    ['!', 49, 'punct'], // Shift+1: `event.key` is "!", punctuation in the browser too
    ['.', 190, 'punct'],
    ['', 190, 'punct'],
    ['', 222, 'punct'],
    ['ARW_LEFT', 37, 'nav'],
    ['ARw_DOWN', 40, 'nav'],
    ['', 9, 'nav'],
    ['INSERT', 45, 'other'],
    ['NUM_LK', 144, 'other'],
    ['MENU', 93, 'other'],
    ['', 229, 'other'],
    ['', undefined, 'other'],
  ];
  it.each(cases)('classes LETTER %j with KEYCODE %j as %s', (letter, code, expected) => {
    expect(aaltoKeyClass(letter, code)).toBe(expected);
  });
});
