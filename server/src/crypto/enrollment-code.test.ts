import { describe, expect, it } from 'vitest';
import {
  generateEnrollmentCode,
  hashEnrollmentCode,
  normalizeEnrollmentCode,
} from './enrollment-code';

describe('enrollment codes', () => {
  it('are 10 Crockford base32 symbols grouped XXXXX-XXXXX', () => {
    for (let i = 0; i < 200; i++) {
      expect(generateEnrollmentCode()).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    }
  });

  it('normalize case, separators and look-alike letters', () => {
    expect(normalizeEnrollmentCode('abcde-fghjk')).toBe('ABCDEFGHJK');
    expect(normalizeEnrollmentCode(' ab cde fghjk ')).toBe('ABCDEFGHJK');
    expect(normalizeEnrollmentCode('OIL00-11111')).toBe('0110011111');
  });

  it('refuse anything else', () => {
    const bad = ['', 'ABCDE', 'ABCDE-FGHJKM', 'UUUUU-UUUUU', 'ABCDE_FGHJK', 'ÄBCDE-FGHJK'];
    for (const input of [...bad, 'x'.repeat(40)]) {
      expect(normalizeEnrollmentCode(input)).toBeUndefined();
    }
  });

  it('hash deterministically, without the code in clear', () => {
    expect(hashEnrollmentCode('ABCDEFGHJK')).toBe(hashEnrollmentCode('ABCDEFGHJK'));
    expect(hashEnrollmentCode('ABCDEFGHJK')).not.toContain('ABCDEFGHJK');
    expect(hashEnrollmentCode('ABCDEFGHJK')).not.toBe(hashEnrollmentCode('ABCDEFGHJM'));
  });
});
