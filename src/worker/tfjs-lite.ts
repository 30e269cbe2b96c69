/**
 * What `@tensorflow/tfjs` resolves to in the extension build (vite.config.ts `resolve.alias`):
 * tfjs-core with the parts the whole bundle registers as side effects and the model uses —
 * tensor methods, gradients (on-device training) and the portable cpu backend — without
 * tfjs-layers, -converter, -data and -webgl, which nothing in the extension uses. Measured by
 * `npm run bench -- memory` and the worker chunk's size (docs/benchmarks.md). Node (CLIs,
 * tests) keeps the whole bundle; both run the same tfjs-core ops.
 */
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
