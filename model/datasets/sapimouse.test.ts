import { describe, expect, it } from 'vitest';
import { FLAG } from '../events/schema';
import { createWindower } from '../features/windower';
import { SAPIMOUSE_HEADER, parseSapiMouse } from './sapimouse';

describe('parseSapiMouse', () => {
  const text = [
    'client timestamp,button,state,x,y',
    '15585,NoButton,Move,967,706',
    '15601,NoButton,Move,958,700',
    '15617,Left,Pressed,958,700',
    '15633,Left,Drag,950,690',
    '15650,Left,Released,950,690',
    '15660,Right,Pressed,950,690',
    '15700,Right,Released,950,690',
    '15710,Other,Pressed,950,690',
    '15711,NoButton,Pressed,950,690', // a press without a button
    '15712,NoButton,Scroll,950,690', // an unknown state
    '15713,NoButton,Move,abc,690',
    '15714,NoButton,Move,1',
    '',
  ].join('\n');
  const session = parseSapiMouse(text);

  it('maps Move, Drag, Pressed and Released to pm, pm+drag, pd and pu with DOM buttons', () => {
    expect(session.events).toEqual([
      { t: 0, k: 'pm', x: 967, y: 706 },
      { t: 16, k: 'pm', x: 958, y: 700 },
      { t: 32, k: 'pd', x: 958, y: 700, b: 0 },
      { t: 48, k: 'pm', x: 950, y: 690, f: FLAG.drag },
      { t: 65, k: 'pu', x: 950, y: 690, b: 0 },
      { t: 75, k: 'pd', x: 950, y: 690, b: 2 },
      { t: 115, k: 'pu', x: 950, y: 690, b: 2 },
      { t: 125, k: 'pd', x: 950, y: 690, b: 1 },
    ]);
  });

  it('counts malformed rows', () => {
    expect(session.stats).toEqual({ rows: 12, malformed: 4, releaseBeforePress: 0 });
  });

  it('takes the time origin from the first usable row', () => {
    const s = parseSapiMouse(
      'client timestamp,button,state,x,y\n100,NoButton,Hover,1,1\n150,NoButton,Move,2,2\n',
    );
    expect(s.events).toEqual([{ t: 0, k: 'pm', x: 2, y: 2 }]);
  });

  it('refuses a file with another header', () => {
    expect(() => parseSapiMouse('t,x,y\n1,2,3')).toThrow(/not a SapiMouse session file/);
  });

  it('gives pointer windows that the product pipeline can use', () => {
    const rows = Array.from(
      { length: 70 },
      (_, k) => `${1000 + 16 * k},NoButton,Move,${3 * k},${k}`,
    );
    const { events } = parseSapiMouse([SAPIMOUSE_HEADER, ...rows].join('\n'));
    const windows = createWindower().push(events);
    expect(windows.map((w) => [w.modality, w.count, w.start])).toEqual([['pointer', 64, 0]]);
    expect(windows[0]!.vector[0]).toBeCloseTo(Math.hypot(3, 1) / 16, 5); // speed_mean
  });
});
