/**
 * The CycloneDX SBOM of the production dependencies (`npm run sbom` writes sbom/tacit.cdx.json;
 * `npm run supply` regenerates it and fails when the committed file differs, so every commit,
 * and so every release, carries the SBOM of exactly what it ships).
 *
 * The file is @cyclonedx/cyclonedx-npm's output, made reproducible: it reads package-lock.json
 * only (`--package-lock-only`: what `npm ci` installs, names, versions and licences; read from
 * node_modules instead, npm's optional/dev flags, hence `scope`, depend on how that tree was
 * installed), without timestamp or random serial number (`--output-reproducible`), with one
 * addition: each component's SHA-512 from package-lock.json. cyclonedx-npm attaches the lockfile's integrity only to a "distribution"
 * reference built from the `resolved` URL, and our lockfile records no registry URLs
 * (`omit-lockfile-registry-resolved`), so without this the SBOM would name versions but no bytes.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '../..');
/** Where the committed SBOM lives. */
export const SBOM_FILE = join(ROOT, 'sbom/tacit.cdx.json');

/** The parts of a CycloneDX component the checks read. */
export interface BomComponent {
  name: string;
  group?: string;
  version: string;
  licenses?: ({ license: { id?: string; name?: string } } | { expression: string })[];
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
  components?: BomComponent[];
}

/** A CycloneDX document (the parts the checks read). */
export interface Bom {
  metadata: { tools?: unknown; [key: string]: unknown };
  components: BomComponent[];
  [key: string]: unknown;
}

interface Lockfile {
  packages: Record<string, { integrity?: string }>;
}

/** `@scope/name` or `name`. */
export const componentName = (c: BomComponent) => (c.group ? `${c.group}/${c.name}` : c.name);

/** Every component, nested ones included (npm nests a package installed under another). */
export function allComponents(components: readonly BomComponent[]): BomComponent[] {
  return components.flatMap((c) => [c, ...allComponents(c.components ?? [])]);
}

const packagePath = (c: BomComponent) =>
  c.properties?.find((p) => p.name === 'cdx:npm:package:path')?.value;

function withHashes(c: BomComponent, lock: Lockfile): BomComponent {
  const path = packagePath(c);
  const integrity = path === undefined ? undefined : lock.packages[path]?.integrity;
  const sha512 = integrity?.startsWith('sha512-')
    ? Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex')
    : undefined;
  return {
    ...c,
    ...(sha512 ? { hashes: [{ alg: 'SHA-512', content: sha512 }] } : {}),
    ...(c.components ? { components: c.components.map((n) => withHashes(n, lock)) } : {}),
  };
}

/** Runs cyclonedx-npm over the lockfile's production tree and adds the lockfile's hashes. */
export async function generateSbom(root = ROOT): Promise<Bom> {
  const dir = await mkdtemp(join(tmpdir(), 'tacit-sbom-'));
  try {
    const out = join(dir, 'bom.json');
    await promisify(execFile)(
      join(root, 'node_modules/.bin/cyclonedx-npm'),
      [
        '--omit',
        'dev',
        '--package-lock-only',
        '--output-reproducible',
        '--spec-version',
        '1.6',
        '--output-format',
        'JSON',
        '--output-file',
        out,
        'package.json',
      ],
      { cwd: root, maxBuffer: 64 << 20 },
    );
    const bom = JSON.parse(await readFile(out, 'utf8')) as Bom;
    const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
    return { ...bom, components: bom.components.map((c) => withHashes(c, lock)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file's text: the tool's JSON, two-space indented, one final newline. */
export const sbomText = (bom: Bom) => `${JSON.stringify(bom, null, 2)}\n`;

/**
 * What must not change between two runs over the same lockfile: everything except
 * `metadata.tools`, which names the npm and cyclonedx versions of the machine that ran it.
 */
export function stablePart(bom: Bom): Bom {
  const { tools: _tools, ...metadata } = bom.metadata;
  return { ...bom, metadata };
}

async function main(): Promise<void> {
  await writeFile(SBOM_FILE, sbomText(await generateSbom()));
  console.log(`wrote ${SBOM_FILE}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
