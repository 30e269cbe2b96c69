import { FLAG } from '../../../model/events/schema';

/** Flags that depend on the event's target and trust, shared by every collector. */
export function baseFlags(event: Event): number {
  let f = event.isTrusted ? 0 : FLAG.untrusted;
  const target = event.target;
  if (target instanceof HTMLInputElement && target.type === 'password') f |= FLAG.password;
  return f;
}
