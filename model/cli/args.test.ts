import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './args';

const TASKS = ['a', 'b'] as const;

describe('parseCommandLine', () => {
  it('takes the task and --name value / --name=value options', () => {
    const cl = parseCommandLine(['b', '--data', '/d', '--seed=7'], TASKS, ['data', 'seed']);
    expect(cl.task).toBe('b');
    expect(cl.get('data')).toBe('/d');
    expect(cl.int('seed', 0)).toBe(7);
    expect(cl.get('out')).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => parseCommandLine(['c'], TASKS, [])).toThrow('unknown or missing task "c"');
    expect(() => parseCommandLine([], TASKS, [])).toThrow('unknown or missing task');
    expect(() => parseCommandLine(['a', '--nope', 'x'], TASKS, ['data'])).toThrow(
      'unknown option --nope',
    );
    expect(() => parseCommandLine(['a', '--data'], TASKS, ['data'])).toThrow(
      '--data needs a value',
    );
    expect(() => parseCommandLine(['a'], TASKS, ['data']).required('data', '<dir>')).toThrow(
      '--data <dir> is required',
    );
    expect(() => parseCommandLine(['a', '--seed', '1.5'], TASKS, ['seed']).int('seed', 0)).toThrow(
      TypeError,
    );
  });
});
