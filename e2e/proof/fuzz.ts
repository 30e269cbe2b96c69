/**
 * Endpoint fuzzing (issue 14): every operation of the app's own `GET /openapi.json`, in
 * process over a real store, with malformed bodies (wrong types, missing and extra members,
 * huge, deeply nested, invalid JSON, binary), wrong or missing credentials, wrong methods and
 * content types, malformed query strings and path parameters. Counted per route: requests,
 * answers ≥ 500 or thrown (a crash), and records stored by a rejected request (row counts and
 * audit records other than rejections, before and after each request). See docs/proof.md.
 */
import fc from 'fast-check';
import { ROUTES, type OperationId } from '../../server/src/contract/routes';
import { KEYS } from '../../server/src/testing/harness';
import { createWorld, dpopProof, send, type World } from './forgery-world';
import type { ProofPart } from './parts';
import type { FuzzReport, FuzzRoute } from './report';

/** Random requests per operation on top of the fixed malformed ones. */
export const RANDOM_PER_ROUTE = { ci: 4, full: 200 } as const;
/** Every how-many-th fixed request is sent (CI: a third of them, each kind still met). */
export const FIXED_STRIDE = { ci: 3, full: 1 } as const;

interface Operation {
  method: string;
  /** OpenAPI template (`/v1/sessions/{sid}/token`). */
  path: string;
  operationId: OperationId;
  queryNames: string[];
  hasBody: boolean;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** A valid DPoP proof of an enrolled key: it may spend one jti. */
  spentJtis?: number;
}

/** The operations of the app's OpenAPI description. */
export async function operations(w: World): Promise<Operation[]> {
  const res = await send(w.a.app, 'GET', '/openapi.json');
  if (res.status !== 200) throw new Error(`GET /openapi.json: ${res.status}`);
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(res.json.paths as Record<string, any>)) {
    for (const [method, op] of Object.entries(item as Record<string, any>)) {
      if (!['get', 'post', 'delete', 'put', 'patch'].includes(method)) continue;
      const params = (op.parameters ?? []) as { name: string; in: string }[];
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        queryNames: params.filter((p) => p.in === 'query').map((p) => p.name),
        hasBody: op.requestBody !== undefined,
      });
    }
  }
  return out;
}

const BAD_IDS = [
  '%00',
  '..',
  '%2e%2e%2f%2e%2e',
  'a'.repeat(300),
  '%ZZ',
  '%F0%9F%98%80',
  '%ED%A0%80',
  '%20',
  "'%20OR%201=1--",
  '-',
  '%0d%0aSet-Cookie:x=1',
  '%D0%B0',
];

const BAD_BODIES: (string | Uint8Array)[] = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '"str"',
  'true',
  '0',
  '{}',
  '{"subject":1}',
  '{"subject":null}',
  '{"subject":["alice"]}',
  '{"subject":{"$ne":""}}',
  '{"subject":"alice","extra":1}',
  '{"attestation":1}',
  '{"enrollment":{"a":1}}',
  '{"binding":null}',
  '{"rotation":"a.b.c"}',
  '{"token":42}',
  '{"__proto__":{"admin":true},"subject":"alice"}',
  '{"constructor":{"prototype":{"x":1}}}',
  `{"subject":"${'x'.repeat(20_000)}"}`,
  `{"subject":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  `${'['.repeat(8000)}${']'.repeat(8000)}`,
  '\ufeff{"subject":"alice"}',
  '{"subject":"alice"}garbage',
  '{"subject":"\ud800"}',
  '{"subject":"alice\u0000"}',
  '{"subject":"alice","subject":"bob"}',
  'subject=alice',
  'token=a&token=b',
  new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x80, 0xc0, 0xaf]),
  new Uint8Array(20_000).fill(0x7b),
];

const CONTENT_TYPES = [
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/json-patch+json',
  'application/octet-stream',
  'APPLICATION/JSON',
];

const BAD_AUTH: Record<string, string>[] = [
  {},
  { authorization: 'Bearer' },
  { authorization: 'Bearer ' },
  { authorization: `Basic ${Buffer.from('bank-a:x').toString('base64')}` },
  { authorization: `Bearer ${KEYS.bankA}x` },
  { authorization: `bearer  ${KEYS.bankA.slice(0, -1)}` },
  { authorization: `Bearer ${'a'.repeat(10_000)}` },
  { authorization: `Bearer ${KEYS.bankB}`, 'x-forwarded-for': '127.0.0.1' },
  { authorization: `Bearer ${KEYS.auditor}` },
  { authorization: `DPoP ${KEYS.bankA}` },
  { dpop: 'a.b.c' },
  { dpop: '' },
  { authorization: `Bearer ${KEYS.bankA}`, dpop: 'x' },
];

const BAD_QUERIES = [
  '?',
  '?&&&',
  '?subject',
  '?subject=',
  '?subject=a&subject=b',
  '?subject[]=alice',
  '?subject[$ne]=x',
  '?%',
  '?%ZZ=1',
  `?subject=${'x'.repeat(10_000)}`,
  '?after=-1',
  '?after=1e999',
  '?after=abc&limit=-5',
  '?limit=999999999999',
  '?after=0x10',
  '?subject=%00',
  '?subject=%F0%9F%98%80',
];

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The path with its parameters filled from the world (real ids) or with `bad`. */
function fill(w: World, op: Operation, bad?: string): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (bad !== undefined) return bad;
    return name === 'deviceId' ? w.victim.jkt : w.victimSession.sid;
  });
}

/** The credentials that get past authentication, so the malformed part is what is judged. */
function goodAuth(w: World, op: Operation, path: string): FuzzRequest['headers'] & object {
  const security = ROUTES[op.operationId].security;
  switch (security.kind) {
    case 'apiKey':
      return {
        authorization: `Bearer ${security.roles.includes('bank') ? KEYS.bankA : KEYS.admin}`,
      };
    case 'apiKeyOrMetricsToken':
      return { authorization: `Bearer ${KEYS.admin}` };
    case 'dpop':
      // The rotator: the victim's sessions and chain stay untouched, and a revoke or rotation
      // that went through would show in the counts.
      return { dpop: dpopProof(w.a, w.rotator, op.method, path.split('?')[0]!) };
    default:
      return {};
  }
}

const isDpop = (op: Operation) => ROUTES[op.operationId].security.kind === 'dpop';

/** The fixed malformed requests of one operation. */
function fixed(w: World, op: Operation): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  const path = fill(w, op);
  const json = { 'content-type': 'application/json' };
  const spent = isDpop(op) ? 1 : 0;
  if (op.hasBody || op.method !== 'GET') {
    for (const body of BAD_BODIES) {
      out.push({
        method: op.method,
        path,
        headers: { ...goodAuth(w, op, path), ...json },
        body,
        spentJtis: spent,
      });
    }
    for (const ct of CONTENT_TYPES) {
      const headers: Record<string, string> = { ...goodAuth(w, op, path) };
      if (ct !== undefined) headers['content-type'] = ct;
      out.push({ method: op.method, path, headers, body: '{"subject":"alice"}', spentJtis: spent });
    }
  }
  for (const auth of BAD_AUTH) {
    out.push({
      method: op.method,
      path,
      headers: { ...json, ...auth },
      body: op.method === 'GET' ? undefined : '{"subject":"alice"}',
    });
  }
  for (const method of OTHER_METHODS.filter((m) => m !== op.method)) {
    out.push({
      method,
      path,
      headers: { ...goodAuth(w, op, path), ...json },
      body: method === 'GET' ? undefined : '{}',
      spentJtis: spent,
    });
  }
  for (const q of BAD_QUERIES) {
    const p = `${path}${q}`;
    out.push({
      method: op.method,
      path: p,
      headers: { ...goodAuth(w, op, p), ...json },
      body: op.method === 'GET' ? undefined : '{}',
      spentJtis: spent,
    });
  }
  if (op.path.includes('{')) {
    for (const bad of BAD_IDS) {
      const p = fill(w, op, bad);
      out.push({
        method: op.method,
        path: p,
        headers: { ...goodAuth(w, op, p), ...json },
        body: op.method === 'GET' ? undefined : '{}',
        spentJtis: spent,
      });
    }
  }
  return out;
}

/** Random bodies, query strings and path ids (fast-check). */
const RANDOM = fc.record({
  body: fc.oneof(
    fc.json({ maxDepth: 6 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }),
    fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => JSON.stringify({ subject: v, attestation: v, token: v })),
  ),
  query: fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  id: fc.stringMatching(/^[A-Za-z0-9_%.~-]{0,60}$/),
  contentType: fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
  ),
  authed: fc.boolean(),
});

/** Fuzzes every operation; `randomPerRoute` random requests each besides the fixed ones. */
export async function runFuzz(options: {
  randomPerRoute: number;
  fixedStride?: number;
  seed?: number;
}): Promise<FuzzReport & { rejectionAudits: number }> {
  const { randomPerRoute, fixedStride = 1, seed = 14 } = options;
  const w = await createWorld();
  const routes: FuzzRoute[] = [];
  let rejectionAudits = 0;
  try {
    const ops = await operations(w);
    for (const [i, op] of ops.entries()) {
      const route: FuzzRoute = {
        route: `${op.method} ${op.path}`,
        requests: 0,
        serverErrors: 0,
        stored: 0,
      };
      routes.push(route);
      const run = async (r: FuzzRequest) => {
        const before = await w.a.store.counts();
        let status: number;
        try {
          status = (await send(w.a.app, r.method, r.path, r.headers, r.body as string)).status;
        } catch {
          status = 599; // thrown out of the app: a crash
        }
        route.requests++;
        if (status >= 500) route.serverErrors++;
        const after = await w.a.store.counts();
        const audit = await w.a.store.listAudit(w.auditSeq, 10_000);
        if (audit.length > 0) w.auditSeq = audit.at(-1)!.seq;
        if (status < 400) return;
        for (const [name, value] of Object.entries(after)) {
          const allowed = name === 'jtis' ? (r.spentJtis ?? 0) : 0;
          const delta = value - before[name as keyof typeof before];
          if (delta < 0 || delta > allowed) route.stored += Math.abs(delta);
        }
        for (const rec of audit) {
          if (/[._]rejected$/.test(rec.type)) rejectionAudits++;
          else route.stored++;
        }
      };
      const all = fixed(w, op);
      for (let j = i % fixedStride; j < all.length; j += fixedStride) await run(all[j]!);
      await fc.assert(
        fc.asyncProperty(RANDOM, async (x) => {
          const path = `${fill(w, op, op.path.includes('{') ? encodeURIComponent(x.id) || 'x' : undefined)}?${encodeURI(x.query)}`;
          const headers: Record<string, string> = {
            'content-type': x.contentType,
            ...(x.authed ? goodAuth(w, op, path) : {}),
          };
          const body = op.method === 'GET' ? undefined : x.body;
          await run({
            method: op.method,
            path,
            headers,
            body,
            spentJtis: x.authed && isDpop(op) ? 1 : 0,
          });
        }),
        { numRuns: randomPerRoute, seed: seed + i },
      );
      w.a.logger.records.length = 0;
    }
  } finally {
    await w.close();
  }
  return {
    requests: routes.reduce((n, r) => n + r.requests, 0),
    serverErrors: routes.reduce((n, r) => n + r.serverErrors, 0),
    stored: routes.reduce((n, r) => n + r.stored, 0),
    routes,
    rejectionAudits,
  };
}

/** The proof part: fixed malformed requests and random ones for every operation. */
export const fuzzPart: ProofPart = async (params, report) => {
  const { rejectionAudits, ...fuzz } = await runFuzz({
    randomPerRoute: RANDOM_PER_ROUTE[params.size],
    fixedStride: FIXED_STRIDE[params.size],
  });
  console.log(
    `fuzz: ${rejectionAudits} rejections recorded in the audit trail (by design, not stored data)`,
  );
  report.fuzz = fuzz;
};
