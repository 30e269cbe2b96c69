import { describe, expect, it } from 'vitest';
import { jsonLogger } from './log';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line)) } };
}

describe('jsonLogger (pino)', () => {
  it('writes one JSON object per line: level, the injected time, event, fields', () => {
    const { lines, stream } = capture();
    const log = jsonLogger(stream, () => Date.UTC(2026, 11, 6, 12), 'info');
    log.info('started', { url: 'http://127.0.0.1:8787', demo: true });
    log.warn('purge', { sessions: 2 });
    expect(lines).toEqual([
      {
        level: 'info',
        time: '2026-12-06T12:00:00.000Z',
        event: 'started',
        url: 'http://127.0.0.1:8787',
        demo: true,
      },
      { level: 'warn', time: '2026-12-06T12:00:00.000Z', event: 'purge', sessions: 2 },
    ]);
  });

  it('writes nothing below its level: the access log is off at info', () => {
    const { lines, stream } = capture();
    jsonLogger(stream, Date.now, 'info').debug('request', { route: '/v1/attestations' });
    expect(lines).toEqual([]);
    jsonLogger(stream, Date.now, 'debug').debug('request', { route: '/v1/attestations' });
    expect(lines).toHaveLength(1);
  });

  it('redacts token-like fields, even if a caller breaks the convention', () => {
    const { lines, stream } = capture();
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzaWQiOiJ4In0.c2ln';
    jsonLogger(stream).error('oops', { token: jwt, authorization: `Bearer ${jwt}`, code: 'ERR_X' });
    expect(JSON.stringify(lines)).not.toContain(jwt);
    expect(lines[0]).toMatchObject({
      token: '[redacted]',
      authorization: '[redacted]',
      code: 'ERR_X',
    });
  });
});
