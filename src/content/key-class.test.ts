import { describe, expect, it } from 'vitest';
import { keyClass } from './key-class';

describe('keyClass', () => {
  it.each([
    ['a', 'letter'],
    ['Z', 'letter'],
    ['é', 'letter'],
    ['ж', 'letter'],
    ['7', 'digit'],
    [' ', 'space'],
    ['Enter', 'enter'],
    ['Backspace', 'backspace'],
    ['Delete', 'backspace'],
    ['Shift', 'modifier'],
    ['CapsLock', 'modifier'],
    ['ArrowLeft', 'nav'],
    ['Tab', 'nav'],
    [',', 'punct'],
    ['@', 'punct'],
    ['Unidentified', 'other'],
    ['F5', 'other'],
    ['Process', 'other'],
  ])('%j is %s', (key, expected) => {
    expect(keyClass(key)).toBe(expected);
  });

  it('never returns the key itself', () => {
    for (const key of ['a', 'b', 'q', '1', 'x']) {
      expect(keyClass(key)).not.toBe(key);
    }
  });
});
