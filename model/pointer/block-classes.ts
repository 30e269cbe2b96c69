/**
 * The training classes of a block projection from public users: one class per subject, the
 * block features of every pointer window of their recordings (cut by the windower's rule).
 * Used by `model/cli/block-train.ts` (the shipped projection) and by `npm run calibrate` (the
 * cross-fitted projections the pointer calibration is learned with).
 */
import type { RawEvent } from '../events/schema';
import { blockFeatures } from './block-features';
import type { BlockProjectionClass } from './block-projection';
import { pointerBlocks } from './blocks';

/** A user's recordings and subject (folders of one subject form one class). */
export interface BlockUser {
  subject: string;
  recordings: readonly (readonly RawEvent[])[];
}

/** One class per subject, in order of first appearance. */
export function blockClassesOf(
  users: readonly BlockUser[],
  eventsPerBlock: number,
): (BlockProjectionClass & { blocks: Float64Array[] })[] {
  const bySubject = new Map<string, BlockProjectionClass & { blocks: Float64Array[] }>();
  for (const u of users) {
    const c = bySubject.get(u.subject) ?? { id: u.subject, blocks: [] };
    for (const events of u.recordings) {
      for (const b of pointerBlocks(events, { pointerEventsPerWindow: eventsPerBlock }))
        c.blocks.push(blockFeatures(b));
    }
    bySubject.set(u.subject, c);
  }
  return [...bySubject.values()];
}
