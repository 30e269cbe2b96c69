/**
 * The raw-event record shared by the content script, the model worker, training and the
 * dataset adapters. See docs/protocol.md §1. It never carries a key, a key code or text.
 */

/** Version of {@link RawEvent} and {@link RawEventBatch}; bump on any change of meaning. */
export const RAW_EVENT_SCHEMA_VERSION = 2 as const;

/**
 * kd/ku: key down/up; pm/pd/pu: pointer move/down/up; wh: wheel;
 * in: text changed without usable key events (IME composition, Android keyCode 229, paste,
 *     autofill) — only the signed length change `n` is kept, never the text;
 * fc: focus moved to another field (the flight across it is not a typing rhythm);
 * br: the page lost focus or was hidden (tab switch): pending windows end here.
 * (v2 added in, fc and br.)
 */
export type RawEventKind = 'kd' | 'ku' | 'pm' | 'pd' | 'pu' | 'wh' | 'in' | 'fc' | 'br';

/** Coarse key class: the only thing recorded about which key was pressed. */
export type KeyClass =
  'letter' | 'digit' | 'space' | 'punct' | 'enter' | 'backspace' | 'modifier' | 'nav' | 'other';

export const KEY_CLASSES: readonly KeyClass[] = [
  'letter',
  'digit',
  'space',
  'punct',
  'enter',
  'backspace',
  'modifier',
  'nav',
  'other',
];

/** Flag bits carried in {@link RawEvent.f}. */
export const FLAG = {
  /** `event.isTrusted === false`: synthetic, never learned from. */
  untrusted: 1,
  /** Key auto-repeat. */
  repeat: 2,
  /** Inside an IME composition (or keyCode 229). */
  composing: 4,
  /** Target is a password field (timings only, as for every field). */
  password: 8,
  /** A paste happened into the target. */
  paste: 16,
  /** Autofill changed the target without keystrokes. */
  autofill: 32,
  /** Pointer move with a button held. */
  drag: 64,
  /**
   * Target looks like a one-time-code field (`autocomplete="one-time-code"`, or a short numeric
   * field named like otp/code/tan): for the OTP-hesitation signal (model/signals/otp.ts).
   */
  otp: 128,
  /**
   * Target looks like another credential field (IBAN, account or card number, by its
   * `autocomplete`, name or id): for the credential paste/autofill signal. Never the value.
   */
  credential: 256,
} as const;

export interface RawEvent {
  /** `event.timeStamp` in ms (sub-ms resolution, page performance timeline). */
  t: number;
  k: RawEventKind;
  /** Key class (key events only). */
  c?: KeyClass;
  /** Press id pairing a `kd` with its `ku` (key events only). A counter, not a key. */
  i?: number;
  /** Pointer client coordinates in CSS px. */
  x?: number;
  y?: number;
  /** Wheel deltas in px. */
  dx?: number;
  dy?: number;
  /** Pointer button (pd/pu). */
  b?: number;
  /** Signed change of the field's length in characters (`in` only). */
  n?: number;
  /** Bitwise OR of {@link FLAG} values; absent means 0. */
  f?: number;
}

export interface RawEventBatch {
  schema: typeof RAW_EVENT_SCHEMA_VERSION;
  events: RawEvent[];
  /** Events lost because the bounded capture buffer was full. */
  dropped: number;
  /**
   * The page reports browser automation (`navigator.webdriver`): for the scripted-input signal
   * (model/signals/bot.ts). Absent means not seen. Added without a version bump: additive, and
   * no existing member changed meaning (the `otp` and `credential` flags likewise).
   */
  automation?: true;
}
