/**
 * Forgery and replay suite (issue 14): property-based cases (fast-check, seeded) against the
 * real app in process over a real store (SQLite, or Redis with `TACIT_TEST_STORE=redis`), one
 * row per attack class, each class tried on every statement kind it applies to. A case is
 * **accepted** when the server answers 2xx (an active introspection for a session JWT), or
 * when any state moved: a row count, a watched session, an audit record other than a
 * rejection (forgery-world.ts `judge`). See docs/proof.md "Forgery and replay".
 */
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { chainHash } from '../../server/src/crypto/attestation';
import { CLASSES, PARAMS, bodyMember, fresh, type Attempt } from './forgery-classes';
import {
  KINDS,
  createWorld,
  dpopProof,
  judge,
  send,
  type Kind,
  type Verdict,
  type World,
} from './forgery-world';
import { highS } from './jws-forge';
import type { ProofPart } from './parts';
import type { ForgeryReport } from './report';

/** Cases per (class, kind) cell. */
export const CASES_PER_CELL = { ci: 15, full: 800 } as const;

/** One acceptance, for the report (no token, no key: the class, kind, status and changes). */
export interface Finding {
  attackClass: string;
  kind: Kind;
  status: number;
  changes: string[];
}

export interface ForgeryRun {
  report: ForgeryReport;
  /** Tried and accepted per class and kind. */
  cells: { attackClass: string; kind: Kind; tried: number; accepted: number }[];
  /** Answers ≥ 500 (a server fault, not an acceptance; must be 0 too). */
  serverErrors: number;
  findings: Finding[];
}

/** Delivers an attempt of `kind` to instance A or B and judges it. */
export async function deliver(w: World, kind: Kind, attempt: Attempt): Promise<Verdict> {
  const app = attempt.app === 'b' ? w.b : w.a.app;
  const json = { 'content-type': 'application/json' };
  const body = attempt.rawBody ?? JSON.stringify({ [bodyMember(kind)]: attempt.jws });
  const spentJtis = attempt.spentJtis ?? 0;
  switch (kind) {
    case 'attestation':
      return judge(w, () => send(app, 'POST', '/v1/attestations', json, body), { spentJtis });
    case 'enrollment':
      return judge(w, () => send(app, 'POST', '/v1/devices', json, body), { spentJtis });
    case 'binding':
      return judge(w, () => send(app, 'POST', '/v1/sessions/bind', json, body), { spentJtis });
    case 'dpop': {
      const path = attempt.path ?? `/v1/device/sessions/${w.victimSession.sid}`;
      return judge(w, () => send(app, 'GET', path, { dpop: attempt.jws }), { spentJtis });
    }
    case 'rotation': {
      const proof = dpopProof(w.a, w.rotator, 'POST', '/v1/device/rotate');
      return judge(
        w,
        () => send(app, 'POST', '/v1/device/rotate', { ...json, dpop: proof }, body),
        { spentJtis },
      );
    }
    case 'session-jwt': {
      if (attempt.bearer) {
        const headers = { ...json, authorization: `Bearer ${attempt.jws}` };
        return judge(w, () => send(app, 'POST', '/v1/sessions', headers, '{"subject":"alice"}'));
      }
      const headers = { ...json, authorization: `Bearer ${'bank-a-secret-0123456789abcdef'}` };
      return judge(w, () => send(app, 'POST', '/v1/introspect', headers, body), {
        introspection: true,
      });
    }
  }
}

/**
 * The oracle is not blind: in the same world, an unmutated statement of every kind is
 * accepted, and so is the high-s twin of a fresh attestation (ECDSA signatures are
 * malleable; the twins the suite sends are refused because they replay, not because they do
 * not verify). Throws if any of them is refused. Changes the world: run it last.
 */
export async function sanityCheck(w: World): Promise<Record<Kind, Verdict>> {
  const out = {} as Record<Kind, Verdict>;
  for (const kind of KINDS) {
    const jws = fresh(w, kind);
    out[kind] = await deliver(w, kind, { jws });
    if (kind === 'attestation' && out[kind].accepted) link(w, jws);
  }
  const refused = Object.entries(out).filter(([, v]) => !v.accepted);
  if (refused.length > 0) {
    const list = refused.map(([k, v]) => `${k} ${v.status}`).join(', ');
    throw new Error(`oracle blind: valid statements refused: ${list}`);
  }
  return out;
}

/** Records an accepted attestation as the victim chain's new head. */
function link(w: World, jws: string): void {
  const { seq } = decodeJwt(jws) as { seq: number };
  w.chain.push({ jws, seq, hash: chainHash(jws) });
}

/**
 * ECDSA malleability, shown: the high-s twin of a fresh attestation verifies and is accepted
 * (so the twins the suite sends are refused as replays, not as bad signatures), and the
 * original, arriving second, is then a replay. Changes the world.
 */
export async function malleabilityCheck(w: World): Promise<{ twin: Verdict; original: Verdict }> {
  const original = fresh(w, 'attestation');
  const twinJws = highS(original);
  const twin = await deliver(w, 'attestation', { jws: twinJws });
  if (twin.accepted) link(w, twinJws);
  return { twin, original: await deliver(w, 'attestation', { jws: original }) };
}

/** Runs every class on every kind it applies to, `perCell` cases each, on a fresh world. */
export async function runForgery(options: {
  perCell: number;
  seed?: number;
  log?: (line: string) => void;
}): Promise<ForgeryRun> {
  const { perCell, seed = 14, log = () => {} } = options;
  const w = await createWorld();
  const cells: ForgeryRun['cells'] = [];
  const findings: Finding[] = [];
  let serverErrors = 0;
  try {
    for (const [ci, cls] of CLASSES.entries()) {
      const started = Date.now();
      for (const kind of cls.kinds) {
        const cell = { attackClass: cls.name, kind, tried: 0, accepted: 0 };
        cells.push(cell);
        await fc.assert(
          fc.asyncProperty(PARAMS, async (p) => {
            const verdict = await deliver(w, kind, cls.build(w, kind, p));
            cell.tried++;
            if (verdict.status >= 500) serverErrors++;
            if (verdict.accepted) {
              cell.accepted++;
              if (findings.length < 50) {
                findings.push({
                  attackClass: cls.name,
                  kind,
                  status: verdict.status,
                  changes: verdict.changes,
                });
              }
            }
          }),
          { numRuns: perCell, seed: seed + ci * 31 + KINDS.indexOf(kind) },
        );
        // The memory logger keeps every line: the suite does not need them.
        w.a.logger.records.length = 0;
      }
      log(
        `forgery: ${cls.name}: ${cls.kinds.length * perCell} cases in ${Date.now() - started} ms`,
      );
    }
  } finally {
    await w.close();
  }
  const classes = CLASSES.map((cls) => {
    const mine = cells.filter((c) => c.attackClass === cls.name);
    return {
      // Rows name their kinds only when a class does not apply to all six.
      attackClass:
        cls.kinds.length === KINDS.length ? cls.name : `${cls.name} (${cls.kinds.join(', ')})`,
      tried: mine.reduce((n, c) => n + c.tried, 0),
      accepted: mine.reduce((n, c) => n + c.accepted, 0),
    };
  });
  return {
    report: {
      tried: classes.reduce((n, c) => n + c.tried, 0),
      accepted: classes.reduce((n, c) => n + c.accepted, 0),
      classes,
    },
    cells,
    serverErrors,
    findings,
  };
}

/**
 * The proof part: the sanity and malleability checks on a world of their own, then every
 * class (CI: {@link CASES_PER_CELL}.ci per cell, a few thousand cases; full: ≥ 100,000).
 * Throws on a blind oracle or a server error; acceptances go into the report.
 */
export const forgeryPart: ProofPart = async (params, report) => {
  const w = await createWorld();
  try {
    const m = await malleabilityCheck(w);
    if (!m.twin.accepted || m.original.accepted) {
      throw new Error('high-s twin: expected the twin accepted and the original then refused');
    }
    await sanityCheck(w);
  } finally {
    await w.close();
  }
  const run = await runForgery({ perCell: CASES_PER_CELL[params.size], log: console.log });
  if (run.serverErrors > 0) throw new Error(`forgery: ${run.serverErrors} server errors`);
  for (const f of run.findings) {
    console.error(
      `forgery: ACCEPTED ${f.attackClass} / ${f.kind}: ${f.status} ${f.changes.join(', ')}`,
    );
  }
  report.forgery = run.report;
};
