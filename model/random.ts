/**
 * Seeded pseudo-random numbers in plain JavaScript. The detector draws its initial weights and
 * denoising noise from here rather than from a tfjs backend so that a given seed gives the same
 * model on cpu, wasm and webgl, in Node and in the browser.
 */

/** A source of uniform numbers in `[0, 1)`. */
export type Rng = () => number;

/** Mulberry32: tiny, fast, good enough for initialisation and jitter (not for cryptography). */
export function createRng(seed: number): Rng {
  let a = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; the `1 - u` keeps `log` away from 0). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
