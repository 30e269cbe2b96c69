/**
 * The dependency rules (.dependency-cruiser.cjs) fail on wrong imports: a fixture tree shaped
 * like the repository holds one deliberately wrong import per rule (and a few right ones that
 * must pass), and the real check (`depcruise`, as `npm run deps` runs it) must name exactly them.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(import.meta.dirname, 'fixtures/wrong-imports');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs depcruise in `dir` with the repository's rules; `outputType` `err` is what `npm run deps` uses. */
async function depcruise(
  dir: string,
  outputType: 'err' | 'json',
): Promise<{ code: number; stdout: string }> {
  const bin = join(ROOT, 'node_modules/.bin/depcruise');
  const args = [
    '--config',
    join(ROOT, '.dependency-cruiser.cjs'),
    '--output-type',
    outputType,
    'src',
    'model',
    'server',
    'e2e',
  ];
  try {
    const { stdout } = await promisify(execFile)(bin, args, { cwd: dir, maxBuffer: 64 << 20 });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, stdout: err.stdout };
  }
}

describe('dependency rules', () => {
  it('fail on each deliberately wrong import of the fixture, and only on those', async () => {
    const { code } = await depcruise(FIXTURE, 'err');
    expect(code).not.toBe(0);
    const violations = (
      JSON.parse((await depcruise(FIXTURE, 'json')).stdout) as {
        summary: { violations: Violation[] };
      }
    ).summary.violations;
    const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual(
      [
        'content-script-imports-schema-and-protocol-only: src/content/index.ts -> model/features/extract.ts',
        'content-script-imports-schema-and-protocol-only: src/content/index.ts -> src/shared/storage.ts',
        'extension-takes-server-types-only: src/background/client.ts -> server/src/contract.ts',
        'model-is-pure: model/features/extract.ts -> server/src/contract.ts',
        'no-unresolvable: src/shared/uses-test.ts -> ./missing',
        'only-background-talks-to-server: src/popup/index.ts -> server/src/contract.ts',
        'production-not-to-test-code: src/shared/uses-test.ts -> src/shared/testing/helper.ts',
        'sdk-stands-alone: server/sdk/client.ts -> server/src/contract.ts',
        'server-not-to-extension: server/src/http/bad.ts -> src/shared/protocol.ts',
        'verifier-not-to-demo-bank: server/src/app-part.ts -> server/demo-bank/bank.ts',
        'verifier-not-to-demo-bank: server/src/app.ts -> server/demo-bank/bank.ts',
        'demo-bank-through-sdk: server/demo-bank/app.ts -> server/src/contract.ts',
        'verifier-not-to-aggregator: server/src/uses-aggregator.ts -> server/aggregator/app.ts',
        'aggregator-asks-verifier-over-http: server/aggregator/app.ts -> server/src/store/store.ts',
      ].sort(),
    );
    expect(violations.every((v) => v.rule.severity === 'error')).toBe(true);
  });
});
