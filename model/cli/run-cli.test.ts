import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotEnoughWindowsError } from '../errors';
import { runCli } from './run-cli';

describe('runCli', () => {
  afterEach(() => {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });

  it.each([
    ['a bad argument', new TypeError('--users must be an integer ≥ 1\nusage: …')],
    ['a refused run', new NotEnoughWindowsError()],
    ['a missing file', Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' })],
  ])('%s: one line, exit 2', async (_what, error) => {
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
    await runCli(() => Promise.reject(error));
    expect(process.exitCode).toBe(2);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(/^refused: [^\n]+$/);
  });

  it('a bug: its stack, exit 1', async () => {
    const printed: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
    await runCli(() => Promise.reject(new Error('boom')));
    expect(process.exitCode).toBe(1);
    expect(printed[0]).toContain('boom');
  });

  it('success leaves the exit code alone', async () => {
    await runCli(async () => undefined);
    expect(process.exitCode).toBeUndefined();
  });
});
