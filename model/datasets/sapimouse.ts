/**
 * Adapter for SapiMouse (Antal et al., SACI 2021) raw mouse logs: one session CSV
 * (`client timestamp,button,state,x,y`) → the pointer raw events the content script would have
 * captured. The logs have no wheel events.
 */
import { FLAG, type RawEvent } from '../events/schema';
import { type ParseStats, emptyStats, parseDecimal, splitLines } from './common';

/** The header of a SapiMouse session file. */
export const SAPIMOUSE_HEADER = 'client timestamp,button,state,x,y';

/**
 * DOM `PointerEvent.button` numbers of the logged buttons. "Other" (a middle or extra button:
 * the logger does not say which) is mapped to the middle button.
 */
export const SAPIMOUSE_BUTTONS: ReadonlyMap<string, number> = new Map([
  ['Left', 0],
  ['Other', 1],
  ['Right', 2],
]);

/** One session file, parsed. */
export interface SapiMouseSession {
  /** pm (Move; Drag with `FLAG.drag`), pd (Pressed), pu (Released); ms from the first row. */
  events: RawEvent[];
  /** Rows read and skipped. */
  stats: ParseStats;
}

/**
 * Parses one SapiMouse session CSV. Skipped and counted as malformed: rows without 5 fields,
 * with a time or coordinate that is not a plain number, an unknown state, or a Pressed/Released
 * row without a known button. Rows keep their file order (the windower deals with time going
 * backwards); times are ms from the first usable row.
 * @throws {TypeError} when the header is not the SapiMouse header.
 */
export function parseSapiMouse(text: string): SapiMouseSession {
  const lines = splitLines(text);
  if ((lines[0] ?? '').trim() !== SAPIMOUSE_HEADER) {
    throw new TypeError('not a SapiMouse session file: unexpected header');
  }
  const stats = emptyStats();
  const events: RawEvent[] = [];
  let t0: number | undefined;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    stats.rows++;
    const f = line.split(',');
    const t = parseDecimal(f[0]);
    const x = parseDecimal(f[3]);
    const y = parseDecimal(f[4]);
    const state = f[2]?.trim();
    const b = SAPIMOUSE_BUTTONS.get(f[1]?.trim() ?? '');
    if (f.length !== 5 || t === undefined || x === undefined || y === undefined) {
      stats.malformed++;
      continue;
    }
    let e: RawEvent;
    if (state === 'Move') e = { t, k: 'pm', x, y };
    else if (state === 'Drag') e = { t, k: 'pm', x, y, f: FLAG.drag };
    else if ((state === 'Pressed' || state === 'Released') && b !== undefined) {
      e = { t, k: state === 'Pressed' ? 'pd' : 'pu', x, y, b };
    } else {
      stats.malformed++;
      continue;
    }
    t0 ??= t;
    e.t = t - t0;
    events.push(e);
  }
  return { events, stats };
}
