/**
 * Credential paste/autofill: how many times text arrived without keystrokes (paste, drop,
 * autofill, a password manager, a script's `fill()`) in a credential field: a password, a
 * one-time-code field or another credential (IBAN, account or card number), as the content
 * script flagged the field (docs/protocol.md "Signals"). Only the count: the collectors never
 * keep the text, and for a password not even its length.
 *
 * A count, not a judgement: a password manager fills passwords every day; a pasted IBAN or a
 * one-time code pasted by someone who never types it is what a bank weighs.
 */
import { FLAG, type RawEvent } from '../events/schema';

/** The field flags that make a field a credential field. */
export const CREDENTIAL_FIELD_FLAGS = FLAG.password | FLAG.otp | FLAG.credential;

/** How text arrived without keys. */
const KEYLESS_FLAGS = FLAG.paste | FLAG.autofill;

/** The credential paste/autofill count of one session. See the module comment. */
export class PasteSignal {
  #count = 0;

  /** Feeds a batch's events. Untrusted input events (a page script's) are not counted. */
  push(events: readonly RawEvent[]): void {
    for (const e of events) {
      const f = e.f ?? 0;
      if (e.k !== 'in' || (f & FLAG.untrusted) !== 0) continue;
      if ((f & KEYLESS_FLAGS) !== 0 && (f & CREDENTIAL_FIELD_FLAGS) !== 0) this.#count++;
    }
  }

  /** Keyless text arrivals in credential fields so far in the session. */
  value(): number {
    return this.#count;
  }
}
