import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Architecture rules of model/, checked on the source (STYLE.md points 10, 14, 15). */
const root = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every source file, the Node tools of cli/ included (for naming and documentation rules). */
const allFiles = sources(root).map((path) => ({
  name: relative(root, path),
  text: readFileSync(path, 'utf8'),
}));
/** The library proper: everything the worker may bundle (cli/ is Node-only tooling). */
const files = allFiles.filter((f) => !f.name.startsWith('cli/'));
const imports = (text: string): string[] => [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);

describe('model/ conventions', () => {
  it('finds the library sources', () => {
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['index.ts', 'features/windower.ts', 'detector/user-model.ts']),
    );
    expect(allFiles.map((f) => f.name)).toContain('cli/load-datasets.ts');
  });

  it('uses neither DOM nor Node APIs, and never picks the tfjs backend', () => {
    const forbidden = [
      /from 'node:/,
      /\brequire\(/,
      /\bdocument\./,
      /\bwindow\./,
      /\bBuffer\b/,
      /\bbtoa\(/,
      /\batob\(/,
      /\bprocess\./,
      /setBackend\(/,
      /\bperformance\./,
    ];
    for (const f of files) {
      const code = f.text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const re of forbidden) expect(re.test(code), `${f.name} matches ${re}`).toBe(false);
    }
  });

  it('keeps feature extraction free of tfjs and of the detector (one pure implementation)', () => {
    for (const f of files.filter((x) => x.name.startsWith('features/'))) {
      expect(f.text, f.name).not.toMatch(/@tensorflow|from '\.\.\/detector/);
    }
  });

  it('keeps dataset adapters pure and feature-free: they only make raw events', () => {
    // Evaluation must run the product's own windower and features on the adapters' output,
    // so an adapter may not compute features (or read files) itself.
    const adapters = files.filter((f) => f.name.startsWith('datasets/'));
    expect(adapters.map((f) => f.name)).toEqual(
      expect.arrayContaining(['datasets/aalto.ts', 'datasets/sapimouse.ts', 'datasets/pohmm.ts']),
    );
    for (const f of adapters) {
      for (const from of imports(f.text))
        expect(from, f.name).toMatch(/^\.\/|^\.\.\/events\/schema$/);
    }
  });

  it('touches tfjs only in the training modules (autoencoder, shared encoder, federated round)', () => {
    expect(
      files.filter((f) => f.text.includes("from '@tensorflow/tfjs'")).map((f) => f.name),
    ).toEqual(['detector/autoencoder.ts', 'federated/local-update.ts', 'shared/train.ts']);
  });

  it('documents every exported declaration with TSDoc', () => {
    const missing: string[] = [];
    // events/schema.ts is the shared wire format of docs/protocol.md §1, owned with the capture side.
    for (const f of allFiles.filter((x) => !x.name.startsWith('events/'))) {
      const lines = f.text.split('\n');
      lines.forEach((line, i) => {
        if (!/^export (async )?(const|function|class|interface|type) /.test(line)) return;
        let j = i - 1;
        while (j >= 0 && lines[j]!.trim() === '') j--;
        if (!lines[j]?.trim().endsWith('*/')) missing.push(`${f.name}:${i + 1}`);
      });
    }
    expect(missing).toEqual([]);
  });

  it('names files in kebab-case', () => {
    for (const f of allFiles) expect(f.name, f.name).toMatch(/^([a-z0-9-]+\/)*[a-z0-9-]+\.ts$/);
  });
});
