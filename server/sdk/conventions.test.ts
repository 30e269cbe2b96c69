/**
 * The SDK is what a bank copies into its backend: it must depend on jose only, never on the
 * server's code, and its wire types must be the server's (checked by `tsc`, see below).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AssuranceLevel as ServerLevel } from '../src/domain/assurance';
import type { Decision as ServerDecision, Thresholds } from '../src/domain/decision';
import type { DeviceView } from '../src/services/devices';
import type { ActiveToken, InactiveToken } from '../src/services/tokens';
import type { StreamConfigAnswer } from '../src/contract/schemas';
import * as sdk from './index';
import type {
  ActiveIntrospection,
  AssuranceLevel,
  Decision,
  DecisionThresholds,
  DeviceEnrollment,
  InactiveIntrospection,
  StreamConfiguration,
} from './types';

const dir = import.meta.dirname;
const sources = readdirSync(dir).filter(
  (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'testing.ts',
);

describe('SDK conventions', () => {
  it.each(sources)('%s imports jose and its siblings only', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...text.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]);
    for (const s of specifiers) expect(s === 'jose' || /^\.\/[a-z-]+$/.test(s!)).toBe(true);
  });

  it('index.ts exports every error class and the entry points', () => {
    expect(Object.keys(sdk).sort()).toEqual(
      [
        'ApiError',
        'MAX_TOKEN_LENGTH',
        'SECURITY_EVENT_TYP',
        'SESSION_TOKEN_ALG',
        'SESSION_TOKEN_MAX_AGE_S',
        'SESSION_TOKEN_TYP',
        'ServerResponse',
        'ServerUnavailable',
        'TOKEN_ERROR_CODES',
        'TacitSdkError',
        'TokenAlgorithm',
        'TokenClaims',
        'TokenExpired',
        'TokenKeyUnknown',
        'TokenMalformed',
        'TokenSignature',
        'TokenType',
        'bearerToken',
        'createTacitClient',
        'fromCookie',
        'fromHeader',
        'meetsAssurance',
        'requireAssurance',
      ].sort(),
    );
  });

  it('wire types match the server (compile-time, checked by tsc -p server)', () => {
    expectTypeOf<ActiveIntrospection>().toEqualTypeOf<ActiveToken>();
    expectTypeOf<InactiveIntrospection>().toEqualTypeOf<InactiveToken>();
    expectTypeOf<AssuranceLevel>().toEqualTypeOf<ServerLevel>();
    expectTypeOf<DecisionThresholds>().toEqualTypeOf<Thresholds>();
    expectTypeOf<DeviceEnrollment>().toEqualTypeOf<DeviceView>();
    expectTypeOf<StreamConfiguration>().toEqualTypeOf<StreamConfigAnswer>();
    // The SDK accepts reasons added later: the server's are a subset.
    expectTypeOf<ServerDecision>().toExtend<Decision>();
  });
});
