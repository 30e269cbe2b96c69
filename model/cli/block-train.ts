/**
 * `npx tsx model/cli/block-train.ts --data ../shared/datasets/sapimouse-dev
 * --out model/shared/default-pointer-block.json [--events 64] [--dimensions 20]`: learns the
 * pointer block projection (`model/pointer/block-projection.ts`) on every subject of a SapiMouse
 * directory (both sessions, blocks of the product's pointer window size) and writes it as JSON,
 * with the data set, its users and its licence in the metadata. SapiMouse is MIT-licensed, so
 * the result may ship with the product.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_WINDOWER_CONFIG } from '../features/windower';
import { learnBlockProjection } from '../pointer/block-projection';
import { blockClassesOf } from '../pointer/block-classes';
import { loadSapiMouse } from './load-datasets';
import { runCli } from './run-cli';

const USAGE = `usage: npx tsx model/cli/block-train.ts --data <sapimouse dir> --out <file.json>
  [--events ${DEFAULT_WINDOWER_CONFIG.pointerEventsPerWindow}] [--dimensions N] [--users N] [--offset K]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      events: { type: 'string', default: String(DEFAULT_WINDOWER_CONFIG.pointerEventsPerWindow) },
      dimensions: { type: 'string' },
      // An evaluation fold's training users (the folders in order, as npm run eval slices them).
      users: { type: 'string' },
      offset: { type: 'string', default: '0' },
    },
    strict: true,
  });
  if (values.data === undefined || values.out === undefined) {
    throw new TypeError(`--data and --out are required\n${USAGE}`);
  }
  const events = Number(values.events);
  const offset = Number(values.offset);
  const all = loadSapiMouse(values.data);
  const users = all.slice(
    offset,
    values.users === undefined ? undefined : offset + Number(values.users),
  );
  const classes = blockClassesOf(
    users.map((u) => ({ subject: u.subject, recordings: [u.session3min, u.session1min] })),
    events,
  );
  const subjects = classes.map((c) => Number(c.id)).sort((a, b) => a - b);
  const projection = learnBlockProjection(
    classes,
    {
      eventsPerBlock: events,
      dataset: `SapiMouse (Antal, Fejér, Búza, SACI 2021), raw logs via jjmatthiesen/trajectoryAnimation_SapiMouse commit fc670c1; users ${subjects[0]}–${subjects[subjects.length - 1]} (both sessions)`,
      licence: 'MIT',
      users: classes.map((c) => `sapimouse:${c.id}`),
      notes:
        'learned by model/cli/block-train.ts; one LDA class per subject (user35.1/.2 and user62.1/.2 are one subject each)',
    },
    values.dimensions === undefined ? {} : { dimensions: Number(values.dimensions) },
  );
  const text = `${JSON.stringify(projection.toJSON())}\n`;
  writeFileSync(values.out, text);
  console.log(
    `wrote ${values.out}: ${classes.length} subjects, ${projection.toJSON().trainingBlocks} blocks of ${events} events, ${projection.dimensions} dimensions, ${(text.length / 1024).toFixed(1)} KiB`,
  );
}

await runCli(main);
