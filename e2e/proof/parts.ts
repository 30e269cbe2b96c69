/** The proof suite's parts by name, shared by the CLI (run.ts) and the CI-sized test. */
import { deploymentPart } from './deployment';
import { forgeryPart } from './forgery';
import { fuzzPart } from './fuzz';
import { runExtensionFault, runServerFaults } from './faults';
import type { ProofReport } from './report';
import { runSoak, soakSize } from './soak';

export interface ProofParams {
  /** 'ci': the small run inside `npm test`; 'full': the figures of record. */
  size: 'ci' | 'full';
  /** Soak length; default 10 in a full run, a few seconds in a CI run. */
  soakMinutes?: number;
}

/** A part writes its own field of the report. */
export type ProofPart = (params: ProofParams, report: ProofReport) => Promise<void>;

// Each part registers here (one line each), in the order the table prints them.
export const PARTS: Record<string, ProofPart> = {
  forgery: forgeryPart,
  fuzz: fuzzPart,
  // CI: the server-side faults, small; full: larger, Redis also paused, and the extension's.
  faults: async (p, r) => {
    r.faults = await runServerFaults(p.size);
    if (p.size === 'full') r.faults.push(await runExtensionFault());
  },
  // CI: 100 sessions for 15 s (5 s slices); full: 1,000 sessions, 10 minutes unless told.
  soak: async (p, r) => {
    r.soak = await runSoak(soakSize(p.size, p.soakMinutes));
  },
  deployment: deploymentPart,
};

export type ProofPartName = keyof typeof PARTS;
