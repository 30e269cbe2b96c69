import { FLAG } from '../../../model/events/schema';

/** autocomplete tokens of one-time codes and of other credentials (HTML autofill field names). */
const OTP_AUTOCOMPLETE = 'one-time-code';
const CREDENTIAL_AUTOCOMPLETE = /\b(cc-number|cc-csc|cc-exp\S*|transaction-amount)\b/;
/** Names and ids of one-time-code fields: a word of its own (`sms_code`, `otp`, `tan`). */
const OTP_NAME =
  /(^|[^a-z])(otp|totp|one.?time|tan|mtan|2fa|mfa|passcode|code|token|verification)([^a-z]|$)/i;
/** Names that say "code" but are addresses or offers, never a one-time code. */
const NOT_OTP_NAME = /zip|post|postal|promo|coupon|voucher|country|area|dial|currency/i;
/** Names and ids of other credentials: IBAN, account, card and routing numbers. */
const CREDENTIAL_NAME =
  /iban|bic|swift|account.?(number|no|nr)|acct|card.?(number|no|nr)|cc.?num|routing|sort.?code|cvv|cvc/i;

const cache = new WeakMap<Element, number>();

/** Whether an input looks like a short numeric one-time-code field. */
function looksLikeOtp(input: HTMLInputElement, words: string): boolean {
  if (input.autocomplete.split(/\s+/).includes(OTP_AUTOCOMPLETE)) return true;
  if (!OTP_NAME.test(words) || NOT_OTP_NAME.test(words)) return false;
  const max = input.maxLength;
  const short = max >= 4 && max <= 10;
  const numeric = input.inputMode === 'numeric' || input.type === 'tel' || input.type === 'number';
  return short || numeric;
}

/**
 * What kind of credential field `target` is (FLAG.password, FLAG.otp, FLAG.credential, or 0),
 * from its type, `autocomplete`, `inputmode`, `maxlength`, name and id: never its value.
 * Remembered per element (it runs in every input event handler).
 */
export function fieldFlags(target: EventTarget | null): number {
  if (!(target instanceof HTMLInputElement)) return 0;
  const known = cache.get(target);
  if (known !== undefined) return known;
  let f = 0;
  if (target.type === 'password') f = FLAG.password;
  else {
    const words = `${target.name} ${target.id}`;
    if (looksLikeOtp(target, words)) f = FLAG.otp;
    else if (CREDENTIAL_NAME.test(words) || CREDENTIAL_AUTOCOMPLETE.test(target.autocomplete)) {
      f = FLAG.credential;
    }
  }
  cache.set(target, f);
  return f;
}

/** Flags that depend on the event's target and trust, shared by every collector. */
export function baseFlags(event: Event): number {
  return (event.isTrusted ? 0 : FLAG.untrusted) | fieldFlags(event.target);
}
