/**
 * A small symmetric eigen solver (cyclic Jacobi rotations) for the block projection's LDA.
 *
 * Hand-written rather than a dependency: the model library is pure TypeScript shared by the
 * worker, training and evaluation, and its only runtime dependency is tfjs. `ml-matrix` (a
 * maintained pure-JS package with an eigen decomposition) is on the registry, but adding it would
 * touch the project's package manifest for some 60 lines of well-known numerics on matrices of
 * about 100 × 100, learned offline; Jacobi is simple, unconditionally stable for symmetric
 * matrices and accurate to machine precision, which matters more here than speed.
 */

/** Eigen decomposition of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Unit eigenvectors as columns, row-major `n × n`: column `j` belongs to `values[j]`. */
  vectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of the symmetric `n × n` matrix `a` (row-major; only its symmetry
 * is assumed, the lower triangle is read as given). Runs cyclic Jacobi sweeps until the
 * off-diagonal mass is negligible (relative 1e-22 of the total) or `maxSweeps` is reached.
 * @throws {RangeError} when `a.length` is not `n * n` or `n` is not a positive integer.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number, maxSweeps = 100): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) {
    throw new RangeError(`symmetricEigen: expected a ${n}×${n} matrix, got ${a.length} values`);
  }
  const m = Float64Array.from(a);
  // Symmetrise: rounding in the caller's products may leave tiny asymmetries.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = (m[i * n + j]! + m[j * n + i]!) / 2;
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i]! * m[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    if (off <= 1e-22 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        // The rotation angle that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.4.2).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => m[j * n + j]! - m[i * n + i]! || i - j,
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src]!;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}
