import { focusCollector } from './focus';
import { inputCollector } from './input';
import { keyboardCollector } from './keyboard';
import { pointerCollector } from './pointer';
import { wheelCollector } from './wheel';
import type { Collector } from './types';

/** Every collector; a convention test checks each file in this folder is registered here. */
export const COLLECTORS: readonly Collector[] = [
  keyboardCollector,
  inputCollector,
  focusCollector,
  pointerCollector,
  wheelCollector,
];
