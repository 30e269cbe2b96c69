/**
 * The raw events behind each pointer window, cut by exactly the windower's pointer rule
 * (`features/windower.ts`). The windower emits only the feature vector and the step sequence;
 * the block scorer needs the raw events of the same windows, so this re-applies the rule
 * instead of changing the windower. `blocks.test.ts` checks the two agree window for window.
 */
import { FLAG, type RawEvent } from '../events/schema';
import { isUsablePointerEvent, isUsableWheelEvent } from '../features/pointer';
import {
  TIMELINE_TOLERANCE_MS,
  type WindowerConfig,
  resolveWindowerConfig,
} from '../features/windower';

/**
 * The events of every pointer window a fresh windower with `config` would emit for `events`
 * (fed in one batch), in emission order. Each block holds the usable pm/pd/pu events (exactly
 * `pointerEventsPerWindow` of them) and the usable wheel events in between, in capture order,
 * like the list the windower hands to `pointerFeatures`. Key events and untrusted markers do not
 * touch pointer windows; a long silence, a timeline jump back or a trusted `br` discards the
 * pending partial block.
 * @throws {RangeError} on an invalid config (see `resolveWindowerConfig`).
 */
export function pointerBlocks(
  events: readonly RawEvent[],
  config: Partial<WindowerConfig> = {},
): RawEvent[][] {
  const cfg = resolveWindowerConfig(config);
  const out: RawEvent[][] = [];
  let pending: RawEvent[] = [];
  let count = 0;
  let lastT: number | undefined;
  const reset = (): void => {
    pending = [];
    count = 0;
    lastT = undefined;
  };
  for (const e of events) {
    if (e.k === 'br') {
      if (((e.f ?? 0) & FLAG.untrusted) === 0) reset();
      continue;
    }
    const counts = isUsablePointerEvent(e);
    if (!counts && !isUsableWheelEvent(e)) continue;
    if (lastT !== undefined) {
      const silence = e.t - lastT;
      if (silence < -TIMELINE_TOLERANCE_MS || silence > cfg.maxPauseMs) reset();
    }
    lastT = Math.max(e.t, lastT ?? e.t);
    pending.push(e);
    if (!counts) continue;
    count++;
    if (count === cfg.pointerEventsPerWindow) {
      out.push(pending);
      pending = [];
      count = 0;
    }
  }
  return out;
}
