import { describe, expect, it, vi } from 'vitest';
import { matchPatternOf } from '../shared/config';
import {
  CAPTURE_SCRIPT_ID,
  syncCaptureRegistration,
  type RegisteredScript,
  type RegistrationApis,
} from './capture-registration';

vi.mock('webextension-polyfill', () => ({ default: {} }));

const SCRIPT = 'assets/content-capture.js';

/** An in-memory `scripting` + `permissions` with Chrome's rules (duplicate ids are refused). */
function browserApis(granted: string[]) {
  const registered = new Map<string, RegisteredScript>();
  const apis: RegistrationApis = {
    getRegisteredContentScripts: async ({ ids }) =>
      ids.flatMap((id) => (registered.has(id) ? [structuredClone(registered.get(id)!)] : [])),
    registerContentScripts: async (scripts) => {
      for (const s of scripts) {
        if (registered.has(s.id)) throw new Error(`Duplicate script ID '${s.id}'`);
        registered.set(s.id, { id: s.id, matches: s.matches, js: s.js });
      }
    },
    unregisterContentScripts: async ({ ids }) => {
      for (const id of ids) registered.delete(id);
    },
    hasHostPermission: async (pattern) => granted.includes(pattern),
  };
  return { apis, registered, granted };
}

describe('matchPatternOf', () => {
  it('keeps scheme and host, matches every port (the worker checks the exact origin)', () => {
    expect(matchPatternOf('https://bank.example')).toBe('https://bank.example/*');
    expect(matchPatternOf('http://localhost:8787')).toBe('http://localhost/*');
    expect(matchPatternOf('https://bank.example:8443/login?x')).toBe('https://bank.example/*');
  });

  it.each(['ftp://bank.example', 'javascript:alert(1)', 'not a url', 'file:///etc'])(
    'refuses %s',
    (origin) => {
      expect(() => matchPatternOf(origin)).toThrow();
    },
  );
});

describe('syncCaptureRegistration', () => {
  const origins = ['https://bank.example', 'http://localhost:8787', 'http://localhost:9000'];

  it('registers only origins with a granted host permission, once per host', async () => {
    const { apis, registered } = browserApis(['http://localhost/*']);
    const result = await syncCaptureRegistration(apis, { origins, consent: true }, SCRIPT);
    expect(result).toEqual({
      matches: ['http://localhost/*'],
      withoutPermission: ['https://bank.example'],
    });
    expect(registered.get(CAPTURE_SCRIPT_ID)).toEqual({
      id: CAPTURE_SCRIPT_ID,
      matches: ['http://localhost/*'],
      js: [SCRIPT],
    });
  });

  it('follows a granted permission, a removed site and withdrawn consent', async () => {
    const { apis, registered, granted } = browserApis(['http://localhost/*']);
    await syncCaptureRegistration(apis, { origins, consent: true }, SCRIPT);
    granted.push('https://bank.example/*');
    await syncCaptureRegistration(apis, { origins, consent: true }, SCRIPT);
    expect(registered.get(CAPTURE_SCRIPT_ID)?.matches).toEqual([
      'http://localhost/*',
      'https://bank.example/*',
    ]);
    await syncCaptureRegistration(
      apis,
      { origins: ['https://bank.example'], consent: true },
      SCRIPT,
    );
    expect(registered.get(CAPTURE_SCRIPT_ID)?.matches).toEqual(['https://bank.example/*']);
    const off = await syncCaptureRegistration(apis, { origins, consent: false }, SCRIPT);
    expect(off.matches).toEqual([]);
    expect(registered.size).toBe(0);
  });

  it('is idempotent: a second sync with the same inputs does not re-register', async () => {
    const { apis } = browserApis(['http://localhost/*']);
    const register = vi.spyOn(apis, 'registerContentScripts');
    const unregister = vi.spyOn(apis, 'unregisterContentScripts');
    await syncCaptureRegistration(apis, { origins, consent: true }, SCRIPT);
    await syncCaptureRegistration(apis, { origins, consent: true }, `/${SCRIPT}`);
    expect(register).toHaveBeenCalledOnce();
    expect(unregister).not.toHaveBeenCalled();
  });
});
