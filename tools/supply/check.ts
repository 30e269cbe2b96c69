/**
 * The supply-chain checks lockfile-lint does not make (`npm run supply`, part of `npm test`; the
 * attacker they answer is in docs/threat-model.md, "A malicious or substituted dependency"):
 *
 * 1. every package in package-lock.json carries a SHA-512 `integrity` (lockfile-lint checks the
 *    hash type only where there is one, and skips entries without);
 * 2. sbom/tacit.cdx.json is the SBOM of the lockfile's production tree (regenerated and compared,
 *    tool versions aside: see sbom.ts);
 * 3. every production package in it (transitive ones included) is under a licence of
 *    {@link ALLOWED_LICENCES}, read from the SBOM (cyclonedx-npm takes each package's `license`
 *    as npm recorded it in the lockfile, and keeps SPDX ids and expressions as such);
 * 4. every production dependency of package.json has its row in docs/dependencies.md (reason,
 *    licence, where it runs), with the licence the SBOM finds, and no row names a package that
 *    is not one.
 *
 * Each check is a function of its inputs so `check.test.ts` can show it failing on a fixture.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import satisfies from 'spdx-satisfies';
import {
  SBOM_FILE,
  allComponents,
  componentName,
  generateSbom,
  sbomText,
  stablePart,
  type Bom,
  type BomComponent,
} from './sbom';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Licences a production dependency may have (SPDX ids), and why each is acceptable for a
 * product banks install and run. An expression passes when the allowed ids satisfy it: `(MIT OR
 * WTFPL)` passes on MIT alone, `Apache-2.0 AND MIT` needs both.
 */
export const ALLOWED_LICENCES: Readonly<Record<string, string>> = {
  MIT: 'permissive; keep the notice',
  ISC: 'permissive (MIT-equivalent); keep the notice',
  '0BSD': 'permissive without even a notice requirement (tslib, under @simplewebauthn/server)',
  'BSD-2-Clause': 'permissive; keep the notice',
  'BSD-3-Clause': 'permissive; keep the notice, do not use the authors’ names to endorse',
  'Apache-2.0': 'permissive with a patent grant; keep the notice and NOTICE files',
  'MPL-2.0':
    'file-level copyleft: webextension-polyfill is shipped unmodified, and its source stays public; a change to its files would have to be published',
};

/** One failed rule, in words a reviewer can act on. */
export type Finding = string;

/** Check 1: every installed package of the lockfile is pinned by a SHA-512 hash. */
export function integrityFindings(lock: {
  packages: Record<string, { integrity?: string; link?: boolean }>;
}): Finding[] {
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.link !== true)
    .flatMap(([path, entry]) =>
      entry.integrity === undefined
        ? [`${path}: no integrity hash in package-lock.json`]
        : entry.integrity.startsWith('sha512-')
          ? []
          : [`${path}: integrity is not SHA-512 (${entry.integrity.split('-')[0]})`],
    );
}

/** Check 2: the committed SBOM is the one the installed tree gives. */
export function sbomFindings(committed: Bom | undefined, fresh: Bom): Finding[] {
  if (committed === undefined) return ['sbom/tacit.cdx.json is missing: run `npm run sbom`'];
  return sbomText(stablePart(committed)) === sbomText(stablePart(fresh))
    ? []
    : ['sbom/tacit.cdx.json is not the SBOM of package-lock.json: run `npm run sbom`'];
}

/** The licence of a component as one SPDX expression (`undefined` when it names none). */
export function licenceOf(c: BomComponent): string | undefined {
  const parts = (c.licenses ?? []).map((l) =>
    'expression' in l ? l.expression : (l.license.id ?? `LicenseRef-${l.license.name}`),
  );
  // npm packages sometimes list the same licence twice; several different ones all apply.
  const unique = [...new Set(parts)];
  if (unique.length <= 1) return unique[0];
  return unique.map((p) => `(${p})`).join(' AND ');
}

/**
 * Check 3: every component's licence is satisfied by the allow-list. An allow-list entry that is
 * not an SPDX id is a mistake in this file, not a finding: it throws a `TypeError`.
 */
export function licenceFindings(
  bom: Bom,
  allowed: readonly string[] = Object.keys(ALLOWED_LICENCES),
): Finding[] {
  for (const id of allowed) {
    try {
      satisfies(id, [id]);
    } catch {
      throw new TypeError(`licence allow-list: "${id}" is not an SPDX licence id`);
    }
  }
  return allComponents(bom.components).flatMap((c) => {
    const id = `${componentName(c)}@${c.version}`;
    const licence = licenceOf(c);
    if (licence === undefined) return [`${id}: declares no licence`];
    let ok: boolean;
    try {
      ok = satisfies(licence, allowed);
    } catch {
      return [`${id}: licence "${licence}" is not an SPDX expression`];
    }
    return ok ? [] : [`${id}: licence "${licence}" is not on the allow-list`];
  });
}

/** The rows of docs/dependencies.md's table: package name → licence column. */
export function documentedDependencies(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name !== undefined && cells.length >= 6) rows.set(name, cells[2]!.replace(/`/g, ''));
  }
  return rows;
}

/** Check 4: docs/dependencies.md has one row per production dependency, licence as in the SBOM. */
export function documentationFindings(
  dependencies: readonly string[],
  markdown: string,
  bom: Bom,
): Finding[] {
  const rows = documentedDependencies(markdown);
  const direct = new Map(bom.components.map((c) => [componentName(c), licenceOf(c)]));
  const findings: Finding[] = [];
  for (const name of dependencies) {
    const licence = rows.get(name);
    if (licence === undefined) findings.push(`${name}: no row in docs/dependencies.md`);
    else if (direct.has(name) && licence !== direct.get(name))
      findings.push(
        `${name}: docs/dependencies.md says "${licence}", the SBOM "${direct.get(name) ?? 'none'}"`,
      );
  }
  for (const name of rows.keys())
    if (!dependencies.includes(name))
      findings.push(`${name}: in docs/dependencies.md but not a production dependency`);
  return findings;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function main(): Promise<number> {
  const lock = (await readJson<Parameters<typeof integrityFindings>[0]>(
    join(ROOT, 'package-lock.json'),
  ))!;
  const pkg = (await readJson<{ dependencies: Record<string, string> }>(
    join(ROOT, 'package.json'),
  ))!;
  const fresh = await generateSbom(ROOT);
  const findings = [
    ...integrityFindings(lock),
    ...sbomFindings(await readJson<Bom>(SBOM_FILE), fresh),
    ...licenceFindings(fresh),
    ...documentationFindings(
      Object.keys(pkg.dependencies),
      await readFile(join(ROOT, 'docs/dependencies.md'), 'utf8'),
      fresh,
    ),
  ];
  for (const finding of findings) console.error(`supply: ${finding}`);
  const count = allComponents(fresh.components).length;
  if (findings.length === 0)
    console.log(`supply: ${count} production packages: hashed, SBOM current, licences allowed`);
  return findings.length === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
