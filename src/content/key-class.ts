import type { KeyClass } from '../../model/events/schema';

const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock', 'Fn', 'OS']);
const NAVIGATION = new Set([
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'Home',
  'End',
  'PageUp',
  'PageDown',
  'Tab',
  'Escape',
]);
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{N}$/u;

/**
 * Maps a key to its coarse class. `key` is read here and dropped: the class is the only
 * thing about the key that leaves this function.
 */
export function keyClass(key: string): KeyClass {
  if (key === ' ') return 'space';
  if (key === 'Enter') return 'enter';
  if (key === 'Backspace' || key === 'Delete') return 'backspace';
  if (MODIFIERS.has(key)) return 'modifier';
  if (NAVIGATION.has(key)) return 'nav';
  if ([...key].length === 1) {
    if (LETTER.test(key)) return 'letter';
    if (DIGIT.test(key)) return 'digit';
    return 'punct';
  }
  return 'other';
}
