/**
 * The Shared Signals events a strong-factor confirmation of a stepped-up session must produce
 * (docs/protocol.md §5 "Confirmation", §6): one expectation for the derivation's unit test and
 * the route's end-to-end test, as `[event type, event body]` pairs in emission order.
 *
 * @module
 */
import { expect } from 'vitest';
import { EVENT_TYPES } from '../ssf/events';

/** Assurance low → high, then risk MEDIUM → LOW with the confirmation as the reason. */
export function confirmationEvents(): [string, Record<string, unknown>][] {
  return [
    [
      EVENT_TYPES.assuranceLevelChange,
      {
        namespace: 'custom',
        current_level: 'high',
        previous_level: 'low',
        change_direction: 'increase',
        event_timestamp: expect.any(Number),
      },
    ],
    [
      EVENT_TYPES.riskLevelChange,
      {
        principal: 'SESSION',
        current_level: 'LOW',
        previous_level: 'MEDIUM',
        risk_reason: 'STRONG_FACTOR_CONFIRMED',
        event_timestamp: expect.any(Number),
      },
    ],
  ];
}
