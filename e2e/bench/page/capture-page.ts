/**
 * Page bundle for the handler micro-benchmark: the real content-script orchestrator and
 * collectors (imported, not copied), and a dispatch loop that times synthetic DOM events with
 * and without capture running. Exposed as `window.tacitCaptureBench`.
 */
import { FLAG, type RawEventBatch } from '../../../model/events/schema';
import { startCapture } from '../../../src/content/orchestrator';

export interface DispatchOptions {
  /** Events dispatched per phase (baseline and capture each get this many, after warm-up). */
  events: number;
  /** Dispatches timed together; per-event time = batch time / batchSize. */
  batchSize: number;
  /** Untimed events per phase before timing starts (JIT warm-up). */
  warmupEvents: number;
  /** The phases alternate this many times (baseline first, then capture first, …) to cancel drift. */
  blocks: number;
  seed: number;
}

export interface DispatchResult {
  /** Per-event µs of each timed batch, no listeners. */
  baselineUsPerEvent: number[];
  /** Per-event µs of each timed batch, capture running. */
  captureUsPerEvent: number[];
  /** Events dispatched per kind in timed capture batches. */
  mix: Record<string, number>;
  /** Raw events the collectors pushed (counted in the dropping `send`), timed and warm-up. */
  captured: number;
  /** …of which carried FLAG.untrusted (synthetic events are flagged, never learned from). */
  untrustedFlagged: number;
  /** Events the bounded buffer dropped. */
  dropped: number;
  /** Batches handed to `send`. */
  sends: number;
  /** Smallest positive step of `performance.now()` seen, µs. */
  timerResolutionUs: number;
  crossOriginIsolated: boolean;
}

type Kind = 'keydown' | 'keyup' | 'pointermove' | 'pointerdown' | 'pointerup' | 'wheel';

const KEYS: readonly (readonly [string, string])[] = [
  ...'etaoinshrdlucmfwypvbgkjqxz'.split('').map((c) => [c, `Key${c.toUpperCase()}`] as const),
  [' ', 'Space'],
  ['1', 'Digit1'],
  ['.', 'Period'],
  ['Backspace', 'Backspace'],
];

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A user-like stream: ~62 % pointer moves, ~28 % keys (a key's down, later its up),
 * ~4 % button down/up, ~6 % wheel. Keys go to a textarea, pointer events to the page.
 */
function eventSource(seed: number, keyTarget: EventTarget, pointerTarget: EventTarget) {
  const rng = mulberry32(seed);
  let held: readonly [string, string] | null = null;
  let buttonDown = false;
  let x = 400;
  let y = 300;
  const common = { bubbles: true, cancelable: true, composed: true };
  const next = (): [EventTarget, Event, Kind] => {
    const r = rng();
    if (r < 0.28) {
      if (held) {
        const [key, code] = held;
        held = null;
        return [keyTarget, new KeyboardEvent('keyup', { ...common, key, code }), 'keyup'];
      }
      held = KEYS[Math.floor(rng() * KEYS.length)]!;
      const [key, code] = held;
      return [keyTarget, new KeyboardEvent('keydown', { ...common, key, code }), 'keydown'];
    }
    if (r < 0.32) {
      buttonDown = !buttonDown;
      const type = buttonDown ? 'pointerdown' : 'pointerup';
      const init = {
        ...common,
        clientX: x,
        clientY: y,
        button: 0,
        buttons: buttonDown ? 1 : 0,
        pointerType: 'mouse',
        isPrimary: true,
      };
      return [pointerTarget, new PointerEvent(type, init), type];
    }
    if (r < 0.38) {
      return [
        pointerTarget,
        new WheelEvent('wheel', { ...common, deltaY: 100, deltaMode: 0, clientX: x, clientY: y }),
        'wheel',
      ];
    }
    x = Math.min(1200, Math.max(0, x + (rng() - 0.5) * 12.34));
    y = Math.min(700, Math.max(0, y + (rng() - 0.5) * 9.87));
    const init = {
      ...common,
      clientX: x,
      clientY: y,
      buttons: buttonDown ? 1 : 0,
      pointerType: 'mouse',
      isPrimary: true,
    };
    return [pointerTarget, new PointerEvent('pointermove', init), 'pointermove'];
  };
  return next;
}

/** Lets the event loop run (no 4 ms clamp, unlike setTimeout), as real input arrives in separate tasks. */
function yieldToLoop(): Promise<void> {
  return new Promise((done) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done();
    channel.port2.postMessage(null);
  });
}

function timerResolutionUs(): number {
  let smallest = Infinity;
  let last = performance.now();
  for (let i = 0; i < 200_000 && smallest > 0.001; i++) {
    const now = performance.now();
    if (now > last) {
      smallest = Math.min(smallest, now - last);
      last = now;
    }
  }
  return smallest * 1000;
}

async function run(options: DispatchOptions): Promise<DispatchResult> {
  const keyTarget = document.getElementById('field')!;
  const pointerTarget = document.getElementById('area')!;
  const next = eventSource(options.seed, keyTarget, pointerTarget);
  const result: DispatchResult = {
    baselineUsPerEvent: [],
    captureUsPerEvent: [],
    mix: {},
    captured: 0,
    untrustedFlagged: 0,
    dropped: 0,
    sends: 0,
    timerResolutionUs: timerResolutionUs(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
  // The `send` of the real content script posts to the extension; this one counts and drops.
  const send = (batch: RawEventBatch): void => {
    result.sends++;
    result.dropped += batch.dropped;
    result.captured += batch.events.length;
    for (const e of batch.events) if ((e.f ?? 0) & FLAG.untrusted) result.untrustedFlagged++;
  };

  const targets: EventTarget[] = new Array(options.batchSize);
  const events: Event[] = new Array(options.batchSize);
  const phase = async (capture: boolean, count: number, timed: boolean): Promise<void> => {
    const controller = new AbortController();
    if (capture) startCapture(controller.signal, send);
    const out = capture ? result.captureUsPerEvent : result.baselineUsPerEvent;
    for (let done = 0; done < count; done += options.batchSize) {
      // Events are made before the clock starts: only dispatch (and the handlers) is timed.
      for (let i = 0; i < options.batchSize; i++) {
        const [target, event, kind] = next();
        targets[i] = target;
        events[i] = event;
        if (timed && capture) result.mix[kind] = (result.mix[kind] ?? 0) + 1;
      }
      const t0 = performance.now();
      for (let i = 0; i < options.batchSize; i++) targets[i]!.dispatchEvent(events[i]!);
      const t1 = performance.now();
      if (timed) out.push(((t1 - t0) * 1000) / options.batchSize);
      await yieldToLoop();
    }
    controller.abort(); // removes every listener and flushes the buffer
  };

  await phase(false, options.warmupEvents, false);
  await phase(true, options.warmupEvents, false);
  const perBlock =
    Math.ceil(options.events / options.blocks / options.batchSize) * options.batchSize;
  for (let b = 0; b < options.blocks; b++) {
    const order = b % 2 === 0 ? [false, true] : [true, false];
    for (const capture of order) await phase(capture, perBlock, true);
  }
  return result;
}

declare global {
  interface Window {
    tacitCaptureBench: { run(options: DispatchOptions): Promise<DispatchResult> };
  }
}

window.tacitCaptureBench = { run };
