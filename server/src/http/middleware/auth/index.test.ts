import { describe, expect, it } from 'vitest';
import { createApiKeyRegistry } from './';

const registry = createApiKeyRegistry([
  { id: 'bank-a', role: 'bank', secret: 'bank-a-secret-0123456789' },
  { id: 'ops', role: 'admin', secret: 'ops-secret-0123456789abc' },
]);

describe('createApiKeyRegistry', () => {
  it('authenticates a bearer key to its relying party (scheme case-insensitive)', () => {
    expect(registry.authenticate('Bearer bank-a-secret-0123456789').rp).toEqual({
      id: 'bank-a',
      role: 'bank',
    });
    expect(registry.authenticate('bearer ops-secret-0123456789abc').rp).toEqual({
      id: 'ops',
      role: 'admin',
    });
  });

  it.each([
    undefined,
    '',
    'bank-a-secret-0123456789',
    'Bearer',
    'Bearer bank-a-secret-012345678',
    'Bearer bank-a-secret-01234567890',
    'Basic YmFuay1hOnNlY3JldA==',
    'Bearer bank-a-secret-0123456789 bank-a-secret-0123456789',
  ])('rejects %j with a logged reason', (header) => {
    const result = registry.authenticate(header);
    expect(result.rp).toBeUndefined();
    expect(result.why).toEqual(expect.any(String));
  });

  it('refuses short or shared secrets at construction (misconfiguration)', () => {
    expect(() => createApiKeyRegistry([{ id: 'a', role: 'bank', secret: 'short' }])).toThrow(
      TypeError,
    );
    expect(() =>
      createApiKeyRegistry([
        { id: 'a', role: 'bank', secret: 'same-secret-0123456789' },
        { id: 'b', role: 'admin', secret: 'same-secret-0123456789' },
      ]),
    ).toThrow(TypeError);
  });
});
