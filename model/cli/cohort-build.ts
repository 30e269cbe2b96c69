/**
 * `npx tsx model/cli/cohort-build.ts --data ../shared/datasets/pohmm
 * --out model/shared/default-keystroke-cohort.json [--windows 5]`: writes the keystroke impostor
 * cohort the product scorer normalises against (model/product/cohort.ts): every pohmm fixed-text
 * person's recordings, in order, until they hold `--windows` product windows with a usable step
 * sequence; key classes and press timings only. pohmm is BSD-3-Clause, so the file may ship;
 * the same people are the shipped keystroke encoder's and calibration's (model/shared/README.md).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_WINDOWER_CONFIG, createWindower } from '../features/windower';
import {
  COHORT_FORMAT,
  COHORT_VERSION,
  type CohortFileJSON,
  cohortRecording,
  cohortRecordingEvents,
  parseCohort,
} from '../product/cohort';
import { loadPohmm } from './load-datasets';
import { runCli } from './run-cli';

const USAGE = `usage: npx tsx model/cli/cohort-build.ts --data <pohmm dir> --out <file.json> [--windows 5]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      windows: { type: 'string', default: '5' },
    },
    strict: true,
  });
  if (values.data === undefined || values.out === undefined) {
    throw new TypeError(`--data and --out are required\n${USAGE}`);
  }
  const per = Number(values.windows);
  if (!Number.isInteger(per) || per < 1)
    throw new TypeError(`--windows: a positive integer\n${USAGE}`);
  const users = loadPohmm(values.data).fixedText.users;
  const people = users.map((u) => {
    const recordings = [];
    let windows = 0;
    for (const events of u.sequences) {
      if (windows >= per) break;
      const r = cohortRecording(events);
      recordings.push(r);
      windows += createWindower(DEFAULT_WINDOWER_CONFIG)
        .push(cohortRecordingEvents(r))
        .filter((w) => w.modality === 'keystroke' && w.stepCount >= 2).length;
    }
    return { id: `pohmm:${u.userId}`, recordings };
  });
  const file: CohortFileJSON = {
    format: COHORT_FORMAT,
    version: COHORT_VERSION,
    provenance: {
      dataset: 'pohmm fixed text (Monaco & Tappert 2018), vmonaco/pohmm-keystroke commit dd48648',
      licence: 'BSD-3-Clause',
      people: people.length,
      built: `model/cli/cohort-build.ts --windows ${per}`,
    },
    windowsPerPerson: per,
    people,
  };
  const cohort = parseCohort(file, DEFAULT_WINDOWER_CONFIG);
  writeFileSync(values.out, `${JSON.stringify(file)}\n`);
  console.log(
    `wrote ${values.out}: ${cohort.people.length} people, ${cohort.people.reduce((n, p) => n + p.windows.length, 0)} windows`,
  );
}

await runCli(main);
