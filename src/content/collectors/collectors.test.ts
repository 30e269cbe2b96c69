// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../../../model/events/schema';
import { focusCollector } from './focus';
import { inputCollector } from './input';
import { keyboardCollector } from './keyboard';
import { pointerCollector } from './pointer';
import { wheelCollector } from './wheel';
import type { Collector } from './types';

let events: RawEvent[];
let controller: AbortController;

function start(...collectors: Collector[]): void {
  for (const c of collectors) c.init(controller.signal, { push: (e) => events.push(e) });
}

function key(
  type: 'keydown' | 'keyup',
  key: string,
  code: string,
  extra: KeyboardEventInit = {},
): void {
  window.dispatchEvent(new KeyboardEvent(type, { key, code, bubbles: true, ...extra }));
}

beforeEach(() => {
  events = [];
  controller = new AbortController();
  document.body.innerHTML =
    '<input id="a" type="text"><input id="p" type="password"><textarea id="m"></textarea>';
});
afterEach(() => controller.abort());

describe('keyboard collector', () => {
  it('records timings and a class, never the key, pairing down and up by press id', () => {
    start(keyboardCollector);
    key('keydown', 's', 'KeyS');
    key('keydown', 'e', 'KeyE'); // roll-over: e goes down before s comes up
    key('keyup', 's', 'KeyS');
    key('keyup', 'e', 'KeyE');
    key('keydown', ' ', 'Space');
    key('keyup', ' ', 'Space');
    expect(events.map((e) => [e.k, e.c, e.i])).toEqual([
      ['kd', 'letter', 1],
      ['kd', 'letter', 2],
      ['ku', 'letter', 1],
      ['ku', 'letter', 2],
      ['kd', 'space', 3],
      ['ku', 'space', 3],
    ]);
    const text = JSON.stringify(events);
    expect(text).not.toMatch(/Key[SE]|"s"|"e"|Space/);
    for (const e of events) expect(Object.keys(e).sort()).toEqual(['c', 'f', 'i', 'k', 't']);
  });

  it('flags synthetic events (isTrusted false) so they are never learned', () => {
    start(keyboardCollector);
    key('keydown', 'a', 'KeyA');
    expect(events[0]!.f! & FLAG.untrusted).toBe(FLAG.untrusted);
  });

  it('flags auto-repeat and keeps the press id of the held key', () => {
    start(keyboardCollector);
    key('keydown', 'a', 'KeyA');
    key('keydown', 'a', 'KeyA', { repeat: true });
    key('keyup', 'a', 'KeyA');
    expect(events.map((e) => [e.k, e.i, (e.f ?? 0) & FLAG.repeat])).toEqual([
      ['kd', 1, 0],
      ['kd', 1, FLAG.repeat],
      ['ku', 1, 0],
    ]);
  });

  it('flags IME composition and Android keyCode 229', () => {
    start(keyboardCollector);
    key('keydown', 'Process', '', { keyCode: 229 });
    key('keydown', 'a', 'KeyA', { isComposing: true });
    expect(events.map((e) => (e.f ?? 0) & FLAG.composing)).toEqual([
      FLAG.composing,
      FLAG.composing,
    ]);
    expect(events[0]!.c).toBe('other');
  });

  it('marks key events in password fields, with timings and class only', () => {
    start(keyboardCollector);
    const password = document.getElementById('p')!;
    password.dispatchEvent(new KeyboardEvent('keydown', { key: 'x', code: 'KeyX', bubbles: true }));
    password.dispatchEvent(new KeyboardEvent('keyup', { key: 'x', code: 'KeyX', bubbles: true }));
    expect(events.map((e) => [e.k, e.c, (e.f ?? 0) & FLAG.password])).toEqual([
      ['kd', 'letter', FLAG.password],
      ['ku', 'letter', FLAG.password],
    ]);
  });

  it('forgets held keys when the page loses focus (their keyup never comes)', () => {
    start(keyboardCollector);
    key('keydown', 'a', 'KeyA');
    window.dispatchEvent(new Event('blur'));
    key('keyup', 'a', 'KeyA');
    expect(events.map((e) => e.k)).toEqual(['kd']);
  });

  it('stops when its signal aborts', () => {
    start(keyboardCollector);
    controller.abort();
    key('keydown', 'a', 'KeyA');
    expect(events).toEqual([]);
  });
});

describe('input collector', () => {
  function type(id: string, value: string, init: InputEventInit): void {
    const el = document.getElementById(id) as HTMLInputElement;
    el.dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
    el.value = value;
    el.dispatchEvent(new InputEvent('input', { bubbles: true, ...init }));
  }

  it('marks paste with the length change only', () => {
    start(inputCollector);
    type('m', 'secret words', { inputType: 'insertFromPaste' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ k: 'in', n: 12 });
    expect(events[0]!.f! & FLAG.paste).toBe(FLAG.paste);
    expect(JSON.stringify(events)).not.toContain('secret');
  });

  it('marks text that arrives with no key as autofill', () => {
    start(inputCollector);
    type('a', 'alice@example.com', { inputType: 'insertText' });
    expect(events[0]!.f! & FLAG.autofill).toBe(FLAG.autofill);
    expect(events[0]!.n).toBe(17);
  });

  it('marks IME composition input', () => {
    start(inputCollector);
    type('a', 'にほん', { inputType: 'insertCompositionText', isComposing: true });
    expect(events[0]!.f! & FLAG.composing).toBe(FLAG.composing);
  });

  it('ignores input explained by an ordinary keystroke', () => {
    start(inputCollector);
    key('keydown', 'a', 'KeyA');
    type('a', 'a', { inputType: 'insertText' });
    expect(events).toEqual([]);
  });

  it('says nothing about a password field but that it changed', () => {
    start(inputCollector);
    type('p', 'hunter2', { inputType: 'insertFromPaste' });
    expect(events[0]!.n).toBeUndefined();
    expect(events[0]!.f! & FLAG.password).toBe(FLAG.password);
  });
});

describe('credential fields', () => {
  beforeEach(() => {
    document.body.innerHTML = [
      '<input id="otp1" autocomplete="one-time-code">',
      '<input id="otp2" name="sms_code" inputmode="numeric" maxlength="6">',
      '<input id="tan" name="tan" maxlength="6">',
      '<input id="zip" name="zip_code" inputmode="numeric" maxlength="5">',
      '<input id="iban" name="payee_iban">',
      '<input id="card" autocomplete="cc-number">',
      '<input id="memo" name="memo">',
    ].join('');
  });

  it('flags one-time-code and other credential fields on key and input events, never their text or length', () => {
    start(keyboardCollector, inputCollector);
    const kinds: Record<string, number> = {};
    for (const id of ['otp1', 'otp2', 'tan', 'zip', 'iban', 'card', 'memo']) {
      const el = document.getElementById(id) as HTMLInputElement;
      el.dispatchEvent(new KeyboardEvent('keydown', { key: '1', code: 'Digit1', bubbles: true }));
      kinds[id] = events.at(-1)!.f! & (FLAG.otp | FLAG.credential);
      el.dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
      el.value = 'DE89370400440532013000';
      el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
      const pasted = events.at(-1)!;
      expect(pasted.k).toBe('in');
      expect(pasted.f! & (FLAG.otp | FLAG.credential)).toBe(kinds[id]);
      if (kinds[id]) expect(pasted.n).toBeUndefined();
    }
    expect(kinds).toEqual({
      otp1: FLAG.otp,
      otp2: FLAG.otp,
      tan: FLAG.otp,
      zip: 0,
      iban: FLAG.credential,
      card: FLAG.credential,
      memo: 0,
    });
    expect(JSON.stringify(events)).not.toContain('DE89');
  });
});

describe('focus collector', () => {
  it('marks moving to another field, and the page losing focus or being hidden', () => {
    start(focusCollector);
    document.getElementById('a')!.dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
    document.getElementById('m')!.dispatchEvent(new FocusEvent('focusin', { bubbles: true }));
    window.dispatchEvent(new Event('blur'));
    expect(events.map((e) => e.k)).toEqual(['fc', 'br']);
  });
});

describe('pointer and wheel collectors', () => {
  it('records coordinates, buttons, drags and wheel deltas', () => {
    start(pointerCollector, wheelCollector);
    window.dispatchEvent(new PointerEvent('pointermove', { clientX: 10.04, clientY: 20.06 }));
    window.dispatchEvent(new PointerEvent('pointerdown', { clientX: 11, clientY: 21, button: 0 }));
    window.dispatchEvent(new PointerEvent('pointermove', { clientX: 15, clientY: 25, buttons: 1 }));
    window.dispatchEvent(new PointerEvent('pointerup', { clientX: 15, clientY: 25, button: 0 }));
    window.dispatchEvent(new WheelEvent('wheel', { deltaX: 0, deltaY: 120.4 }));
    expect(events.map(({ t: _t, f: _f, ...rest }) => rest)).toEqual([
      { k: 'pm', x: 10, y: 20.1 },
      { k: 'pd', x: 11, y: 21, b: 0 },
      { k: 'pm', x: 15, y: 25 },
      { k: 'pu', x: 15, y: 25, b: 0 },
      { k: 'wh', dx: 0, dy: 120 },
    ]);
    expect(events[2]!.f! & FLAG.drag).toBe(FLAG.drag);
  });
});
