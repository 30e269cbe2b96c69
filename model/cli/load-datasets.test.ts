import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AALTO_COLUMNS } from '../datasets/aalto';
import { createWindower } from '../features/windower';
import { aaltoFiles, loadAalto, loadPohmm, loadSapiMouse } from './load-datasets';

/** The shared public datasets beside the repository (see /work/shared/datasets/README.md). */
const DATASETS = resolve(import.meta.dirname, '../../../shared/datasets');
const AALTO = join(DATASETS, 'aalto-dev');
const SAPIMOUSE = join(DATASETS, 'sapimouse-dev');
const POHMM = join(DATASETS, 'pohmm');

const allFinite = (v: Float32Array): boolean => v.every(Number.isFinite);

describe('loaders on a scratch directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-datasets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const header = AALTO_COLUMNS.join('\t');

  it('lists Aalto participant files by numeric id and ignores other files', () => {
    const aalto = join(dir, 'aalto');
    mkdirSync(aalto);
    for (const id of ['100', '20', '3']) {
      writeFileSync(
        join(aalto, `${id}_keystrokes.txt`),
        `${header}\n${id}\t1\ts\ts\t1\t1000\t1080\ta\t65\n`,
      );
    }
    writeFileSync(join(aalto, 'README.txt'), 'not data');
    expect(aaltoFiles(aalto).map((f) => f.id)).toEqual(['3', '20', '100']);
    expect(loadAalto(aalto, { offset: 1, limit: 1 }).map((u) => u.userId)).toEqual(['20']);
    expect(() => loadAalto(join(dir))).toThrow(/no <id>_keystrokes\.txt files/);
  });

  it('matches SapiMouse sessions by their *3min.csv / *1min.csv suffix and fails on a missing one', () => {
    const sapi = join(dir, 'sapi');
    const csv = 'client timestamp,button,state,x,y\n10,NoButton,Move,1,2\n';
    mkdirSync(join(sapi, 'user2'), { recursive: true });
    mkdirSync(join(sapi, 'user10.2'));
    writeFileSync(join(sapi, 'user2', 'session_3min.csv'), csv);
    writeFileSync(join(sapi, 'user2', 'session_1min.csv'), csv);
    writeFileSync(join(sapi, 'user10.2', 'session_2020_10_14_3min.csv'), csv);
    writeFileSync(join(sapi, 'user10.2', 'session_2020_10_14_1min.csv'), csv);
    expect(loadSapiMouse(sapi).map((u) => [u.userId, u.subject, u.session3min.length])).toEqual([
      ['2', '2', 1],
      ['10.2', '10', 1],
    ]);
    rmSync(join(sapi, 'user2', 'session_1min.csv'));
    expect(() => loadSapiMouse(sapi)).toThrow(/user2: expected one \*1min\.csv file, found 0/);
  });
});

describe('the public datasets through the product pipeline', () => {
  it.skipIf(!existsSync(AALTO))(
    'Aalto: a few participants give 15 sentences and finite keystroke windows',
    () => {
      const users = loadAalto(AALTO, { limit: 4 });
      expect(users).toHaveLength(4);
      expect(Number(users[0]!.userId)).toBeLessThan(Number(users[1]!.userId));
      for (const u of users) {
        expect(u.sequences).toHaveLength(15);
        expect(u.stats.malformed).toBe(0);
        const windows = u.sequences.flatMap((s) => createWindower().push(s));
        // ≈ 47 keys per sentence: about 2 windows of 20 keys each (29 per user, median of 1329).
        expect(windows.length).toBeGreaterThanOrEqual(15);
        for (const w of windows) {
          expect(w.modality).toBe('keystroke');
          expect(allFinite(w.vector)).toBe(true);
        }
      }
    },
  );

  it.skipIf(!existsSync(SAPIMOUSE))(
    'SapiMouse: every folder, including user62.2, gives finite pointer windows',
    () => {
      const users = loadSapiMouse(SAPIMOUSE);
      expect(users).toHaveLength(74);
      expect(users.filter((u) => u.subject === '62').map((u) => u.userId)).toEqual([
        '62.1',
        '62.2',
      ]);
      for (const u of users) {
        expect(u.stats.malformed).toBe(0);
        expect(u.session1min.length).toBeGreaterThan(1000);
      }
      for (const u of users.slice(0, 3)) {
        const long = createWindower().push(u.session3min);
        const short = createWindower().push(u.session1min);
        expect(long.length).toBeGreaterThan(50);
        expect(short.length).toBeGreaterThan(15);
        for (const w of [...long, ...short]) expect(allFinite(w.vector)).toBe(true);
      }
    },
  );

  it.skipIf(!existsSync(POHMM))(
    'pohmm: keypad PINs and fixed text give finite keystroke windows',
    () => {
      const { keypad, fixedText } = loadPohmm(POHMM);
      expect(keypad.users).toHaveLength(30);
      expect(fixedText.users).toHaveLength(60);
      expect(keypad.stats).toEqual({ rows: 6600, malformed: 0, releaseBeforePress: 0 });
      for (const u of keypad.users.slice(0, 3)) {
        expect(u.sequences).toHaveLength(20);
        for (const s of u.sequences) {
          // A PIN entry is 10 digits + Enter: one window of exactly its 11 keys.
          const windows = createWindower({ keysPerWindow: 11 }).push(s);
          expect(windows).toHaveLength(1);
          expect(allFinite(windows[0]!.vector)).toBe(true);
        }
      }
      for (const u of fixedText.users.slice(0, 3)) {
        expect(u.sequences).toHaveLength(4);
        const windows = u.sequences.flatMap((s) => createWindower().push(s));
        expect(windows.length).toBeGreaterThanOrEqual(16);
        for (const w of windows) expect(allFinite(w.vector)).toBe(true);
      }
    },
  );
});
