/**
 * Request-body helpers shared by the API routes. Bodies are read as text (the body-limit
 * middleware has already bounded them), parsed, and validated with a zod schema; any failure
 * is one {@link BadRequest} whose cause names the failing paths, never the values.
 *
 * @module
 */
import type { Context } from 'hono';
import { type z } from 'zod';
import { BadRequest } from '../errors';

// The shared field schemas live in the contract (one definition for routes and OpenAPI).
export { jwsSchema, pathIdSchema, subjectSchema } from '../contract/schemas';

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

function issuesCause(error: z.ZodError): string {
  return `invalid fields: ${error.issues.map((i) => i.path.join('.') || '(root)').join(',')}`;
}

/** Validates `value` with `schema` or throws {@link BadRequest}. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new BadRequest('invalid request', { cause: issuesCause(parsed.error) });
  }
  return parsed.data;
}

async function readText(c: Context): Promise<string> {
  try {
    return await c.req.text();
  } catch (cause) {
    throw new BadRequest('unreadable request body', { cause });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequest('request body is not valid JSON');
  }
}

/**
 * Reads a JSON body and validates it. The Content-Type must be `application/json`: a browser
 * can send `text/plain` or form bodies cross-site without a CORS preflight, never JSON.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new BadRequest('Content-Type must be application/json');
  }
  return validate(schema, parseJson(await readText(c)));
}

/**
 * Reads a body that may be JSON or `application/x-www-form-urlencoded` (RFC 7662 requires the
 * form; JSON is accepted too) and validates the resulting object.
 */
export async function readJsonOrForm<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (JSON_TYPE.test(type)) return validate(schema, parseJson(await readText(c)));
  if (FORM_TYPE.test(type)) {
    const params = new URLSearchParams(await readText(c));
    const fields = new Map<string, string>();
    for (const [key, value] of params) {
      // A repeated parameter is ambiguous (RFC 6749 §3.1): refuse it.
      if (fields.has(key)) throw new BadRequest('repeated parameter', { cause: 'repeated key' });
      fields.set(key, value);
    }
    return validate(schema, Object.fromEntries(fields));
  }
  throw new BadRequest(
    'Content-Type must be application/x-www-form-urlencoded or application/json',
  );
}
