/** The proof suite's parts by name, shared by the CLI (run.ts) and the CI-sized test. */
import { deploymentPart } from './deployment';
import { forgeryPart } from './forgery';
import { fuzzPart } from './fuzz';
import type { ProofReport } from './report';

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
  deployment: deploymentPart,
};

export type ProofPartName = keyof typeof PARTS;
