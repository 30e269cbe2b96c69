/**
 * The proof suite: `npm run test:proof -- [--out f.json] [--soak-minutes N] [--only a,b] [--ci]`.
 * Forgery and replay, endpoint fuzzing, faults, soak and deployment, one table, one JSON
 * (default bench-results/proof.json). See docs/proof.md.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../support/server';
import { writeJson } from '../bench/report';
import { PARTS, type ProofParams } from './parts';
import { printProof, violations, type ProofReport } from './report';

const USAGE = `usage: npm run test:proof -- [--out f.json] [--soak-minutes N] [--only ${Object.keys(PARTS).join(',')}] [--ci]`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      out: { type: 'string' },
      'soak-minutes': { type: 'string' },
      only: { type: 'string' },
      ci: { type: 'boolean' },
    },
    strict: true,
  });
} catch (err) {
  fail((err as Error).message);
}
const v = parsed.values;
const params: ProofParams = { size: v.ci ? 'ci' : 'full' };
if (v['soak-minutes'] !== undefined) {
  const n = Number(v['soak-minutes']);
  if (!Number.isFinite(n) || n <= 0) fail(`--soak-minutes needs a positive number`);
  params.soakMinutes = n;
}
const names = v.only === undefined ? Object.keys(PARTS) : v.only.split(',');
const unknown = names.find((n) => !Object.hasOwn(PARTS, n));
if (unknown !== undefined) fail(`unknown part ${JSON.stringify(unknown)}`);

const report: ProofReport = { size: params.size, startedAt: new Date().toISOString() };
try {
  for (const name of names) await PARTS[name]!(params, report);
} catch (error) {
  console.error('proof failed:', error);
  process.exit(1);
}
printProof(report);
console.log(`\nwrote ${writeJson(v.out ?? join(ROOT, 'bench-results', 'proof.json'), report)}`);
const broken = violations(report);
if (broken.length > 0) {
  console.error(`\nproof failed:\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
