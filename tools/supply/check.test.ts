/**
 * The supply-chain checks (`npm run supply`) fail on what they are there to catch: fixtures hold
 * a lockfile with a plain-http URL, a foreign registry, a git dependency, a missing and a SHA-1
 * hash, and an SBOM with licences outside the allow-list; each check must name exactly those.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_LICENCES,
  documentationFindings,
  integrityFindings,
  licenceFindings,
  sbomFindings,
} from './check';
import { SBOM_FILE, allComponents, componentName, type Bom } from './sbom';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(import.meta.dirname, 'fixtures');
const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/** lockfile-lint as `npm run supply` runs it (its options in .lockfile-lintrc.json). */
async function lockfileLint(path?: string): Promise<{ code: number; out: string }> {
  const bin = join(ROOT, 'node_modules/.bin/lockfile-lint');
  const args = path === undefined ? ['--format', 'plain'] : ['--path', path, '--format', 'plain'];
  try {
    const { stdout, stderr } = await promisify(execFile)(bin, args, { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('lockfile', () => {
  it('lockfile-lint refuses plain http, another registry, a git URL and a SHA-1 hash', async () => {
    const { code, out } = await lockfileLint(join(FIXTURES, 'package-lock.json'));
    expect(code).not.toBe(0);
    const flagged = [...out.matchAll(/detected invalid (\S+(?: hash type)?) .*package: ([\w-]+)@/g)]
      .map(([, what, name]) => `${what} ${name}`)
      .sort();
    expect(flagged).toEqual([
      'host(s) from-git',
      'host(s) other-registry',
      'host(s) plain-http',
      'integrity hash type old-hash',
      'protocol from-git',
      'protocol plain-http',
    ]);
  });

  it('lockfile-lint passes the real lockfile', async () => {
    expect((await lockfileLint()).code).toBe(0);
  });

  it('every installed package must carry a SHA-512 hash (lockfile-lint skips those without)', () => {
    expect(integrityFindings(readJson(join(FIXTURES, 'package-lock.json')))).toEqual([
      'node_modules/no-hash: no integrity hash in package-lock.json',
      'node_modules/old-hash: integrity is not SHA-512 (sha1)',
      'node_modules/from-git: no integrity hash in package-lock.json',
    ]);
    expect(integrityFindings(readJson(join(ROOT, 'package-lock.json')))).toEqual([]);
  });
});

describe('licences', () => {
  it('names every package outside the allow-list, nested ones and expressions included', () => {
    const findings = licenceFindings(readJson<Bom>(join(FIXTURES, 'licences.cdx.json')));
    expect(findings).toEqual([
      'nested-copyleft@2.0.0: licence "AGPL-3.0-or-later" is not on the allow-list',
      '@scope/copyleft@3.1.0: licence "GPL-3.0-only" is not on the allow-list',
      'both-apply@1.0.0: licence "Apache-2.0 AND SSPL-1.0" is not on the allow-list',
      'unlicensed@0.1.0: declares no licence',
      'custom@1.0.0: licence "LicenseRef-Commercial, see LICENSE" is not an SPDX expression',
    ]);
    // `permissive` (MIT), `dual` (MIT OR GPL-3.0-only) and `listed-twice` (ISC, ISC) pass.
  });

  it('the allow-list is what the findings are judged by', () => {
    const bom = readJson<Bom>(join(FIXTURES, 'licences.cdx.json'));
    expect(licenceFindings(bom, [...Object.keys(ALLOWED_LICENCES), 'GPL-3.0-only'])).not.toContain(
      '@scope/copyleft@3.1.0: licence "GPL-3.0-only" is not on the allow-list',
    );
    expect(licenceFindings(bom, ['ISC'])).toContain(
      'permissive@1.0.0: licence "MIT" is not on the allow-list',
    );
    expect(() => licenceFindings(bom, ['MIT', 'MPL-2.0-typo'])).toThrow(TypeError);
  });

  it('the committed SBOM passes', () => {
    expect(licenceFindings(readJson<Bom>(SBOM_FILE))).toEqual([]);
  });
});

describe('SBOM', () => {
  const committed = readJson<Bom>(SBOM_FILE);

  it('is production dependencies only, each with its SHA-512', () => {
    const names = allComponents(committed.components).map(componentName);
    const { dependencies } = readJson<{ dependencies: Record<string, string> }>(
      join(ROOT, 'package.json'),
    );
    for (const name of Object.keys(dependencies)) expect(names).toContain(name);
    // The build and check tools are not in it (a dev dependency that a production package also
    // needs, such as @types/node under tfjs-data, is).
    for (const tool of ['vite', 'vitest', 'eslint', 'typescript', 'web-ext', 'lockfile-lint'])
      expect(names).not.toContain(tool);
    expect(names).not.toContain('@cyclonedx/cyclonedx-npm');
    for (const c of committed.components)
      expect(
        c.hashes?.map((h) => h.alg),
        c.name,
      ).toEqual(['SHA-512']);
    expect(JSON.stringify(committed)).not.toMatch(/"timestamp"|"serialNumber"/);
  });

  it('a stale SBOM is found; the tool versions of the machine that wrote it are not a change', () => {
    const other = { ...committed, metadata: { ...committed.metadata, tools: { components: [] } } };
    expect(sbomFindings(committed, other)).toEqual([]);
    const bumped = {
      ...committed,
      components: committed.components.map((c, i) => (i === 0 ? { ...c, version: '9.9.9' } : c)),
    };
    expect(sbomFindings(committed, bumped)).toEqual([
      'sbom/tacit.cdx.json is not the SBOM of package-lock.json: run `npm run sbom`',
    ]);
    expect(sbomFindings(undefined, committed)).toEqual([
      'sbom/tacit.cdx.json is missing: run `npm run sbom`',
    ]);
  });
});

describe('docs/dependencies.md', () => {
  const bom = readJson<Bom>(join(FIXTURES, 'licences.cdx.json'));
  const table = [
    '| Package | Licence | Runs in | Why |',
    '|---|---|---|---|',
    '| `permissive` | MIT | server | Because. |',
    '| `dual` | MIT | extension | Because. |',
    '| `left-over` | ISC | server | Was removed. |',
  ].join('\n');

  it('needs one row per production dependency, with the licence the SBOM finds', () => {
    expect(documentationFindings(['permissive', 'dual', 'listed-twice'], table, bom)).toEqual([
      'dual: docs/dependencies.md says "MIT", the SBOM "(MIT OR GPL-3.0-only)"',
      'listed-twice: no row in docs/dependencies.md',
      'left-over: in docs/dependencies.md but not a production dependency',
    ]);
  });

  it('the real document lists every production dependency', () => {
    const { dependencies } = readJson<{ dependencies: Record<string, string> }>(
      join(ROOT, 'package.json'),
    );
    const markdown = readFileSync(join(ROOT, 'docs/dependencies.md'), 'utf8');
    expect(
      documentationFindings(Object.keys(dependencies), markdown, readJson<Bom>(SBOM_FILE)),
    ).toEqual([]);
  });
});
