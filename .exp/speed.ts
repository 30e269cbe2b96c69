import { readFileSync } from 'node:fs';
import { encoderFromJSON, encode } from '../model/shared/encoder';
import { syntheticKeystrokes, syntheticPointer, TYPIST_A, POINTER_A } from '../model/testing/synthetic';
import { createWindower } from '../model/features/windower';
for (const [file, mod] of [['model/shared/default-keystroke.json', 'keystroke'], ['model/shared/default-pointer.json', 'pointer']] as const) {
  const enc = encoderFromJSON(readFileSync(file, 'utf8'));
  const ev = mod === 'keystroke' ? syntheticKeystrokes(TYPIST_A, 2000, { seed: 1 }) : syntheticPointer(POINTER_A, 6400, { seed: 1 });
  const ws = createWindower().push(ev).filter((w) => w.modality === mod);
  const t: number[] = [];
  for (let r = 0; r < 5; r++) for (const w of ws) { const a = performance.now(); encode(enc, w.steps, w.stepCount); t.push(performance.now() - a); }
  t.sort((a, b) => a - b);
  console.log(mod, ws.length, 'windows, steps', ws[0]!.stepCount, 'p50', t[Math.floor(t.length * 0.5)]!.toFixed(3), 'p95', t[Math.floor(t.length * 0.95)]!.toFixed(3), 'ms');
}
