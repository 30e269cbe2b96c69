import { describe, expect, it } from 'vitest';
import { splitByStage, stageTimes, type CpuProfile } from './profile-stages';

/** A profile whose nodes form one chain per leaf: root → … → leaf (urls given outermost first). */
function profile(stacks: { urls: string[]; leaf?: string }[], samples: number[]): CpuProfile {
  const nodes: CpuProfile['nodes'] = [{ id: 1, callFrame: { functionName: '(root)', url: '' } }];
  const leaves: number[] = [];
  for (const { urls, leaf } of stacks) {
    let parent = nodes[0]!;
    for (const [i, url] of urls.entries()) {
      const id = nodes.length + 1;
      const name = i === urls.length - 1 && leaf ? leaf : `f${id}`;
      nodes.push({ id, callFrame: { functionName: name, url } });
      (parent.children ??= []).push(id);
      parent = nodes[nodes.length - 1]!;
    }
    leaves.push(parent.id);
  }
  return {
    nodes,
    startTime: 0,
    endTime: samples.length * 100,
    samples: samples.map((k) => leaves[k]!),
    timeDeltas: samples.map(() => 100),
  };
}

const SRC = 'file:///repo/server/src';

describe('stageTimes', () => {
  const p = profile(
    [
      // 0: zod called by the body reader → validation, not framework
      {
        urls: [
          `${SRC}/http/routes/attestations.ts`,
          `${SRC}/http/body.ts`,
          'file:///repo/node_modules/zod/v4/core/schemas.js',
        ],
      },
      // 1: a hash for the audit trail → audit, not verify
      { urls: [`${SRC}/services/audit.ts`, 'node:internal/crypto/hash'] },
      // 2: the signature check → verify
      {
        urls: [
          `${SRC}/services/attestations.ts`,
          `${SRC}/crypto/attestation.ts`,
          'node:internal/crypto/sig',
        ],
      },
      // 3: a response written after an await: only Node and the adapter on the stack → http
      {
        urls: [
          'file:///repo/node_modules/@hono/node-server/dist/index.mjs',
          'node:_http_outgoing',
          'node:net',
        ],
      },
      // 4: idle is not busy time
      { urls: [''], leaf: '(idle)' },
      // 5: garbage collection
      { urls: [''], leaf: '(garbage collector)' },
      // 6: Hono's dispatch inside our middleware → framework
      { urls: [`${SRC}/app.ts`, 'file:///repo/node_modules/hono/dist/compose.js'] },
    ],
    [0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6],
  );

  it('gives each sample to the innermost module that decides its stage', () => {
    const t = stageTimes(p, 0, p.endTime);
    expect(t).toMatchObject({
      validation: 200,
      audit: 100,
      verify: 300,
      http: 100,
      gc: 100,
      framework: 100,
      middleware: 0,
      store: 0,
    });
  });

  it('counts only the window asked for, and splits a total in proportion', () => {
    // Samples end at 100, 200, …: the window [350, 700] holds samples 3–6 (verify ×3, http).
    const t = stageTimes(p, 350, 700);
    expect(t.verify).toBe(300);
    expect(t.http).toBe(100);
    expect(t.validation).toBe(0);
    expect(splitByStage(t, 400)).toMatchObject({ verify: 300, http: 100, audit: 0 });
  });
});
