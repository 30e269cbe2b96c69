// Entry of the SQLite writer thread (see sqlite-writer.ts). Plain JavaScript so that Node can
// start it as a worker whatever loader the process runs under (tsx, vitest): it loads the
// TypeScript module through tsx's scoped loader.
import { tsImport } from 'tsx/esm/api';

await tsImport('./writer.ts', import.meta.url);
