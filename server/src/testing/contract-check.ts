/**
 * Checks one request and its answer, as the test harness exchanged them with the in-process
 * app, against the route table (`contract/routes.ts`), i.e. against the schemas the OpenAPI
 * document is generated from:
 *
 * - an answer with a status the operation declares: the request's path parameters, query and
 *   body parse with the operation's schemas, and the answer has a declared media type and
 *   parses with its schema (each line for NDJSON; empty when nothing is declared);
 * - any other status: the answer is the `Error` schema, its code has that status in the error
 *   table, and the operation lists the code (`ERR_INTERNAL` always, `ERR_RATE_LIMITED` when
 *   the route is rate limited, the store codes on `/v1/` routes).
 *
 * Requests that match no operation (the demo bank, preflights, unknown paths) are not checked
 * here. Used by the harness on every call (see `createHarness`), so every test of the server
 * checks the contract of what it exercises.
 *
 * @module
 */
import type { z } from 'zod';
import { ERROR_STATUS, STORE_ERRORS, reachesStore } from '../contract/errors';
import {
  FORM_TYPE,
  JSON_TYPE,
  NDJSON_TYPE,
  ROUTE_LIST,
  pathPattern,
  type Route,
} from '../contract/routes';
import { errorBodySchema } from '../contract/schemas';
import type { ErrorCode } from '../errors';

/** One request and its answer. */
export interface Exchange {
  method: string;
  /** Path and query, as requested. */
  url: string;
  requestHeaders: Headers;
  requestBody: string | undefined;
  status: number;
  responseHeaders: Headers;
  responseText: string;
}

const COMPILED = ROUTE_LIST.map((route) => ({ route, pattern: pathPattern(route.path) }));

/** The operation a request reaches, and its path parameters. */
export function findRoute(
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const { route, pattern } of COMPILED) {
    if (route.method !== method) continue;
    const m = pattern.exec(pathname);
    if (m) return { route, params: { ...m.groups } };
  }
  return undefined;
}

const mediaType = (value: string | null | undefined) =>
  (value ?? '').split(';')[0]!.trim().toLowerCase();

function issues(what: string, schema: z.ZodType, value: unknown): string[] {
  const parsed = schema.safeParse(value);
  if (parsed.success) return [];
  const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return [`${what}: ${where.join('; ')}`];
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function requestViolations(ex: Exchange, route: Route, params: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    out.push(...issues(`path parameter ${name}`, schema, params[name]));
  }
  const url = new URL(ex.url, 'http://contract.test');
  if (route.query) {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] ??= v;
    out.push(...issues('query', route.query, query));
  }
  if (route.body) {
    const text = ex.requestBody ?? '';
    const type = mediaType(ex.requestHeaders.get('content-type'));
    if (text === '' && !route.body.required) return out;
    if (!route.body.mediaTypes.includes(type)) return [...out, `request media type ${type}`];
    if (type === FORM_TYPE) {
      out.push(
        ...issues('form body', route.body.schema, Object.fromEntries(new URLSearchParams(text))),
      );
    } else {
      const parsed = parseJson(text);
      if (!parsed.ok) return [...out, 'request body is not JSON'];
      out.push(...issues('request body', route.body.schema, parsed.value));
    }
  }
  return out;
}

function answerViolations(ex: Exchange, route: Route): string[] {
  const spec = route.responses[ex.status]!;
  if (!spec.content) return ex.responseText === '' ? [] : ['answer should be empty'];
  const type = mediaType(ex.responseHeaders.get('content-type'));
  const schema = spec.content[type];
  if (!schema) return [`answer media type ${type}`];
  if (type === JSON_TYPE) {
    const parsed = parseJson(ex.responseText);
    return parsed.ok ? issues('answer', schema, parsed.value) : ['answer is not JSON'];
  }
  if (type === NDJSON_TYPE) {
    const lines = ex.responseText.split('\n');
    if (lines.pop() !== '') return ['NDJSON answer does not end with a newline'];
    return lines.flatMap((line, i) => {
      const parsed = parseJson(line);
      return parsed.ok
        ? issues(`line ${i + 1}`, schema, parsed.value)
        : [`line ${i + 1} is not JSON`];
    });
  }
  return issues('answer', schema, ex.responseText);
}

function errorViolations(ex: Exchange, route: Route): string[] {
  const parsed = parseJson(ex.responseText);
  if (!parsed.ok) return [`status ${ex.status} is neither declared nor a JSON error`];
  const bad = issues('error answer', errorBodySchema, parsed.value);
  if (bad.length > 0) return bad;
  const code = (parsed.value as { error: { code: ErrorCode } }).error.code;
  const allowed = new Set<ErrorCode>([...route.errors, 'ERR_INTERNAL']);
  if (route.rateLimit !== 'none') allowed.add('ERR_RATE_LIMITED');
  if (reachesStore(route.path)) for (const code of STORE_ERRORS) allowed.add(code);
  const out: string[] = [];
  if (ERROR_STATUS[code] !== ex.status) out.push(`${code} answered with ${ex.status}`);
  if (!allowed.has(code)) out.push(`${code} is not listed for the operation`);
  return out;
}

/** What in `ex` disagrees with the contract (empty: nothing, or no operation matched). */
export function contractViolations(ex: Exchange): string[] {
  const url = new URL(ex.url, 'http://contract.test');
  const found = findRoute(ex.method, url.pathname);
  if (!found) return [];
  const { route, params } = found;
  const out =
    ex.status in route.responses
      ? [...requestViolations(ex, route, params), ...answerViolations(ex, route)]
      : errorViolations(ex, route);
  return out.map((v) => `${ex.method} ${url.pathname} → ${ex.status} (${route.operationId}): ${v}`);
}
