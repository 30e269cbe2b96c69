import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_STATUS, OPENAPI } from './openapi';
import { createHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

/** `/v1/sessions/:sid/token` → `/v1/sessions/{sid}/token` */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

const paths = OPENAPI.paths as Record<string, Record<string, unknown>>;

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    const res = await h.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    expect(res.json).toEqual(JSON.parse(JSON.stringify(OPENAPI)));
  });

  it('describes every route registered in the app, and nothing else', () => {
    // Middleware and catch-alls are registered with method ALL; every real route has a method.
    const registered = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`),
    );
    const described = new Set(
      Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
    );
    expect([...registered].filter((r) => !described.has(r))).toEqual([]);
    expect([...described].filter((d) => !registered.has(d))).toEqual([]);
    expect(registered.has('post /v1/sessions/{sid}/decision')).toBe(true);
  });

  it('every path parameter is declared', () => {
    for (const [path, ops] of Object.entries(paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops) as { parameters?: { name: string; in: string }[] }[]) {
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort(), path).toEqual(names.sort());
      }
    }
  });

  it('every $ref resolves', () => {
    const text = JSON.stringify(OPENAPI);
    const schemas = (OPENAPI.components.schemas as Record<string, unknown>) ?? {};
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/(\w+)"/g)) {
      expect(schemas, name).toHaveProperty(name!);
    }
  });

  it('lists every error code, with the status docs/protocol.md gives it', () => {
    const table = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    const documented = new Map(
      [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
    );
    expect(Object.fromEntries(documented)).toEqual(ERROR_STATUS);
  });
});
