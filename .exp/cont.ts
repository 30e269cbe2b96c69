import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { loadAalto } from '../model/cli/load-datasets';
import { encoderFromJSON } from '../model/shared/encoder';
import { EmbeddingUserModel } from '../model/shared/embedding-model';
import { UserModel } from '../model/detector/user-model';
import { truncateKeys, windowStreamOf, continuousOf } from '../model/eval/protocols';
import { createWindower, type FeatureWindow } from '../model/features/windower';
import { emptyTrials, mergeTrials, summarizeContinuous } from '../model/eval/continuous';
import type { ActionStream } from '../model/eval/continuous';
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
await tf.setBackend('wasm');
const encoder = encoderFromJSON(readFileSync(process.argv[2]!, 'utf8'));
const N = Number(process.argv[3] ?? 150);
const held0 = 0;
const K = Number(process.argv[4] ?? 10);
const users = loadAalto('../shared/datasets/aalto-dev', { offset: 0, limit: N });
const G = 5;
const W = 14;
// Context: steps of the last `ctx` windows concatenated (the first press of each later window keeps its own flights).
function withContext(stream: ActionStream<FeatureWindow>, ctx: number): ActionStream<{ w: FeatureWindow; steps: Float32Array; n: number }> {
  const out = stream.windows.map((w, i) => {
    const parts = stream.windows.slice(Math.max(0, i - ctx + 1), i + 1);
    const n = parts.reduce((s, p) => s + p.stepCount, 0);
    const steps = new Float32Array(n * W);
    let o = 0;
    for (const p of parts) { steps.set(p.steps, o); o += p.steps.length; }
    return { w, steps, n };
  });
  return { windows: out, actionsAt: stream.actionsAt, actions: stream.actions };
}
const variants = ['mean-ctx3x', 'emb-ctx3x', 'mean-ctx4x', 'emb-ctx4x'];
const trials = Object.fromEntries(variants.map((v) => [v, emptyTrials()]));
const held = users.map((u) => windowStreamOf(u.sequences.slice(G), "keystroke", { keysPerWindow: K }));
const ctxStreams = new Map<number, ReturnType<typeof withContext>[]>();
for (let s = 0; s < users.length; s++) {
  const u = users[s]!;
  const gal = u.sequences.slice(0, G).flatMap((x) => createWindower({ keysPerWindow: K }).push(truncateKeys(x, 50).events).filter((w) => w.modality === 'keystroke'));
  const det = new UserModel('keystroke', { seed: 1 });
  try { await det.fit(gal.map((w) => w.vector)); } catch { continue; }
  const others = users.map((_, o) => o).filter((o) => o !== s);
  for (const ctx of [3, 4]) {
    // enrol embedding on gallery contexts: consecutive gallery windows within the gallery list
    const gs = withContext({ windows: gal, actionsAt: gal.map(() => 0), actions: 0 }, ctx).windows.map((x) => ({ steps: x.steps, n: x.n }));
    const emb = new EmbeddingUserModel(encoder, { looExclusion: ctx - 1 });
    try { emb.fit(gs); } catch { continue; }
    const own = withContext(held[s]!, ctx);
    if (!ctxStreams.has(ctx)) ctxStreams.set(ctx, held.map((h) => withContext(h, ctx)));
    const streams = ctxStreams.get(ctx)!;
    for (const mode of ['mean', 'emb']) {
      const name = `${mode}-ctx${ctx}x`;
      const model = { score: (x: { w: FeatureWindow; steps: Float32Array; n: number }) => mode === 'emb' ? emb.score(x) : (det.score(x.w.vector) + emb.score(x)) / 2 };
      mergeTrials(trials[name]!, await continuousOf(model, 'keystroke', own, streams, others, { continuous: { impostorsPerUser: 20 } }, 7919 + s));
    }
  }
  det.dispose();
}
for (const v of variants) {
  const c = summarizeContinuous(trials[v]!, 'keystroke');
  console.log(v.padEnd(10), 'imp median/p95', JSON.stringify(c.impostor.actionsToFlag), 'never', c.impostor.neverFlaggedFraction.toFixed(3), 'genuine noFF', c.genuine.noFalseFlagFraction.toFixed(3), 'ff/1000', c.genuine.falseFlagsPer1000?.toFixed(2));
}
