import { describe, expect, it } from 'vitest';
import { expectedHtus, normalizeHtu } from './';

describe('normalizeHtu', () => {
  it('lower-cases scheme and host, drops the default port, query and fragment', () => {
    expect(normalizeHtu('HTTPS://Tacit.Example:443/v1/device/revoke?a=1#x')).toBe(
      'https://tacit.example/v1/device/revoke',
    );
    expect(normalizeHtu('http://tacit.example:8080/a/../v1')).toBe('http://tacit.example:8080/v1');
  });

  it('refuses what is not an absolute http(s) URL, or carries credentials', () => {
    for (const bad of [
      '/v1/device/revoke',
      'ftp://x/y',
      'javascript:alert(1)',
      'http://u:p@x/',
      '',
      // What the URL parser would strip or drop: the compared URI must be the one signed.
      'http://tacit.example/v1/device/revoke\u0000',
      ' http://tacit.example/v1/device/revoke',
      'http://tacit.example/v1/device/revoke\u001f',
      'http://tacit.example/v1/dev\tice/revoke',
      'http://tacit.example/v1/device/re\nvoke',
      'http://tacit.example/v1/device/revoke\u007f',
    ]) {
      expect(normalizeHtu(bad), bad).toBeUndefined();
    }
  });
});

describe('expectedHtus', () => {
  it('is the issuer plus the path, keeping the issuer’s own path prefix', () => {
    expect(expectedHtus('https://tacit.bank.example', '/v1/device/revoke')).toEqual([
      'https://tacit.bank.example/v1/device/revoke',
    ]);
    expect(expectedHtus('https://bank.example/tacit', '/v1/device/revoke')).toEqual([
      'https://bank.example/tacit/v1/device/revoke',
    ]);
  });

  it('a loopback issuer accepts every loopback name on the same scheme and port', () => {
    expect(expectedHtus('http://127.0.0.1:8787', '/v1/device/enrollments').sort()).toEqual(
      [
        'http://127.0.0.1:8787/v1/device/enrollments',
        'http://[::1]:8787/v1/device/enrollments',
        'http://localhost:8787/v1/device/enrollments',
      ].sort(),
    );
    // Not another port, not another scheme.
    const accepted = expectedHtus('http://localhost:8787', '/x');
    expect(accepted).not.toContain('http://localhost:8788/x');
    expect(accepted).not.toContain('https://localhost:8787/x');
  });
});
