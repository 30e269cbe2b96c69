import { FLAG } from '../../../model/events/schema';
import { fieldFlags } from './target-flags';
import type { Collector, EventSink } from './types';

/** A key event this close before an input event explains it (ms). */
const KEY_EXPLAINS_INPUT_MS = 100;

function isEditable(target: EventTarget | null): target is HTMLInputElement | HTMLTextAreaElement {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
}

/**
 * Text that changes without usable key events: IME composition and Android keyboards
 * (keyCode 229, key "Unidentified"), paste, autofill and password managers. Only the signed
 * change of the field's length is kept — never the text — and not even that for credential
 * fields (password, one-time code, IBAN and the like: `fieldFlags`). These events mark "no keystroke data here"; they are never learned as rhythm.
 */
export const inputCollector: Collector = {
  name: 'input',
  init(signal: AbortSignal, sink: EventSink): void {
    const lengths = new WeakMap<Element, number>();
    let lastKeyAt = -Infinity;
    let lastKeyWasIme = false;
    const options = { capture: true, passive: true, signal };

    window.addEventListener(
      'keydown',
      (event) => {
        lastKeyAt = event.timeStamp;
        lastKeyWasIme = event.isComposing || event.keyCode === 229;
      },
      options,
    );
    // Remember the length before the change, so the delta can be computed afterwards.
    window.addEventListener(
      'focusin',
      (event) => {
        if (isEditable(event.target)) lengths.set(event.target, event.target.value.length);
      },
      options,
    );
    window.addEventListener(
      'input',
      (event) => {
        const target = event.target;
        if (!isEditable(target)) return;
        const before = lengths.get(target) ?? 0;
        const after = target.value.length;
        lengths.set(target, after);
        const inputType = (event as InputEvent).inputType ?? '';
        const fromKey = event.timeStamp - lastKeyAt < KEY_EXPLAINS_INPUT_MS;
        let f = event.isTrusted ? 0 : FLAG.untrusted;
        if (inputType === 'insertFromPaste' || inputType === 'insertFromDrop') f |= FLAG.paste;
        else if (
          (event as InputEvent).isComposing ||
          inputType.includes('Composition') ||
          (fromKey && lastKeyWasIme)
        ) {
          f |= FLAG.composing;
        } else if (!fromKey)
          f |= FLAG.autofill; // text arrived with no key: autofill or a password manager
        else return; // an ordinary keystroke: the key collector already has its timings
        // Credential fields (password, one-time code, IBAN…) are flagged for the paste signal;
        // their length change is not kept either.
        const field = fieldFlags(target);
        f |= field;
        sink.push({ t: event.timeStamp, k: 'in', ...(field ? {} : { n: after - before }), f });
      },
      options,
    );
  },
};
