import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERROR_STATUS, OPENAPI } from './openapi';
import { ROUTE_LIST, openApiPath, type Route } from '../contract/routes';
import { createHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

type Json = Record<string, any>;
const paths = OPENAPI.paths as Record<string, Record<string, Json>>;
const components = OPENAPI.components.schemas as Record<string, Json>;
const op = (route: Route) => paths[openApiPath(route.path)]![route.method.toLowerCase()]!;

/** The demo bank is a relying party being moved out of the verifier: not in the table. */
const isDemoBank = (path: string) => path === '/' || path === '/bank' || path.startsWith('/bank/');

/** `$ref`s replaced by their components, `description`s dropped (the registry adds some). */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const { $ref, description: _d, ...rest } = value as Json;
  if (typeof $ref === 'string') return resolve(components[$ref.split('/').at(-1)!]);
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, resolve(v)]));
}

/** The table's zod schema on its own, every named schema inlined. */
const expected = (schema: z.ZodType) => {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
  }) as Json;
  return resolve(rest);
};

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    const res = await h.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    expect(res.json).toEqual(JSON.parse(JSON.stringify(OPENAPI)));
  });

  it('the app registers exactly the routes of the table (the demo bank aside)', () => {
    // Middleware and catch-alls are registered with method ALL; every real route has a method.
    const registered = new Set(
      h.app.routes
        .filter((r) => r.method !== 'ALL' && !isDemoBank(r.path))
        .map((r) => `${r.method} ${r.path}`),
    );
    const table = new Set(ROUTE_LIST.map((r) => `${r.method} ${r.path}`));
    expect(table.size).toBe(ROUTE_LIST.length);
    expect([...registered].filter((r) => !table.has(r))).toEqual([]);
    expect([...table].filter((t) => !registered.has(t))).toEqual([]);
    expect(registered.has('POST /v1/sessions/:sid/decision')).toBe(true);
  });

  it('describes the operations of the table, and nothing else', () => {
    const described = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(described.sort()).toEqual(
      ROUTE_LIST.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`).sort(),
    );
    expect(new Set(described.map((d) => d.split(' ')[1])).has('/bank/login')).toBe(false);
    const ids = ROUTE_LIST.map((r) => op(r).operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation has the table’s parameters, body and answers, with their schemas', () => {
    for (const route of ROUTE_LIST) {
      const o = op(route);
      const at = `${route.method} ${route.path}`;
      expect(o.operationId, at).toBe(route.operationId);
      expect(o.summary, at).toBe(route.summary);
      expect(o.tags, at).toEqual(route.tags);

      // Path parameters: exactly the pattern's, with the table's schemas.
      const inPath = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(Object.keys(route.params ?? {}).sort(), at).toEqual(inPath.sort());
      const parameters = (o.parameters ?? []) as Json[];
      for (const [name, schema] of Object.entries(route.params ?? {})) {
        const p = parameters.find((x) => x.in === 'path' && x.name === name)!;
        expect(p?.required, `${at} ${name}`).toBe(true);
        expect(resolve(p.schema), `${at} ${name}`).toEqual(expected(schema));
      }
      // Query parameters: the properties of the table's query object.
      const query = route.query ? (expected(route.query) as Json) : { properties: {} };
      const inQuery = parameters.filter((x) => x.in === 'query');
      expect(inQuery.map((x) => x.name).sort(), at).toEqual(Object.keys(query.properties).sort());
      for (const p of inQuery) {
        expect(resolve(p.schema), `${at} ?${p.name}`).toEqual(query.properties[p.name]);
        expect(p.required, `${at} ?${p.name}`).toBe((query.required ?? []).includes(p.name));
      }
      expect(parameters.length, at).toBe(inPath.length + inQuery.length);

      // Body: the table's media types, requiredness and schema.
      if (route.body) {
        expect(o.requestBody.required, at).toBe(route.body.required);
        expect(Object.keys(o.requestBody.content), at).toEqual(route.body.mediaTypes);
        for (const media of Object.values(o.requestBody.content) as Json[]) {
          expect(resolve(media.schema), at).toEqual(expected(route.body.schema));
        }
      } else {
        expect(o.requestBody, at).toBeUndefined();
      }

      // Answers: the table's statuses with their media types and schemas, then the errors.
      const codes = [...route.errors, 'ERR_INTERNAL' as const];
      if (route.rateLimit !== 'none') codes.push('ERR_RATE_LIMITED');
      if (route.path.startsWith('/v1/')) codes.push('ERR_STORE_UNAVAILABLE', 'ERR_STORAGE_FULL');
      const errorStatuses = new Set(codes.map((c) => String(ERROR_STATUS[c])));
      expect(Object.keys(o.responses).sort(), at).toEqual(
        [...new Set([...Object.keys(route.responses), ...errorStatuses])].sort(),
      );
      for (const [status, spec] of Object.entries(route.responses)) {
        const res = o.responses[status] as Json;
        expect(res.description, `${at} ${status}`).toBe(spec.description);
        expect(Object.keys(res.content ?? {}), `${at} ${status}`).toEqual(
          Object.keys(spec.content ?? {}),
        );
        for (const [type, schema] of Object.entries(spec.content ?? {})) {
          const media = res.content[type] as Json;
          const actual = type === 'application/x-ndjson' ? media['x-line-schema'] : media.schema;
          expect(resolve(actual), `${at} ${status} ${type}`).toEqual(expected(schema));
        }
      }
      for (const status of errorStatuses) {
        const res = o.responses[status] as Json;
        expect(res.content['application/json'].schema, `${at} ${status}`).toEqual({
          $ref: '#/components/schemas/Error',
        });
        const listed = codes.filter((c) => String(ERROR_STATUS[c]) === status);
        expect(res.description.split(', ').sort(), `${at} ${status}`).toEqual(
          [...new Set(listed)].sort(),
        );
      }

      // Security: what the table says.
      const schemes = (o.security as Json[]).flatMap((s) => Object.keys(s));
      expect(schemes, at).toEqual(
        {
          none: [],
          statement: [],
          apiKey: ['apiKey'],
          apiKeyOrMetricsToken: ['apiKey', 'metricsToken'],
          dpop: ['dpop'],
        }[route.security.kind],
      );
    }
  });

  it('every $ref resolves', () => {
    const text = JSON.stringify(OPENAPI);
    for (const [, name] of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      expect(name).toMatch(/^#\/components\/schemas\/\w+$/);
      expect(components, name).toHaveProperty(name!.split('/').at(-1)!);
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
