import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../shared/config';
import { ExtensionError } from '../shared/errors';
import type { AttestationRecord, StoreDescription } from '../shared/protocol';
import { DataControl, RETENTION_EVERY_MS } from './data-control';
import type { ModelHost } from './model-host';
import { subjectKey } from './subject-key';

vi.mock('webextension-polyfill', () => ({ default: {} }));

const NOW = Date.UTC(2026, 11, 2, 12);
const DAY = 86_400_000;

async function setup() {
  const aliceKey = await subjectKey(DEFAULT_CONFIG.serverUrl, 'alice');
  const description: StoreDescription = {
    windows: [
      {
        subject: aliceKey,
        modality: 'keystroke',
        count: 10,
        oldestAt: NOW - 2 * DAY,
        newestAt: NOW - DAY,
      },
      {
        subject: 'orphan-key',
        modality: 'pointer',
        count: 2,
        oldestAt: NOW - DAY,
        newestAt: NOW - DAY,
      },
    ],
    models: [
      {
        subject: aliceKey,
        modality: 'keystroke',
        featureSchema: 2,
        hasEmbedding: true,
        savedAt: NOW - DAY,
        usedAt: NOW,
      },
    ],
  };
  const history: AttestationRecord[] = [
    {
      sid: 's1',
      seq: 1,
      at: NOW - 1000,
      state: 'scoring',
      conf: 0.91,
      progress: 1,
      result: 'accepted',
      code: null,
      assurance: 0.9,
      level: 'high',
    },
  ];
  const calls: string[] = [];
  const host = {
    describe: vi.fn(async () => description),
    applyRetention: vi.fn(
      async (_maxAgeMs: number) => (calls.push('model-retention'), { windows: 0, models: 0 }),
    ),
    eraseAll: vi.fn(async () => void calls.push('erase-models')),
  } as unknown as ModelHost;
  let lastRun: number | null = null;
  const forgetDevice = vi.fn(async () => (calls.push('revoke+forget-key'), { revoked: 1 }));
  const prune = vi.fn(async (_cutoff: number) => (calls.push('history-retention'), 0));
  const control = new DataControl({
    config: async () => ({ ...DEFAULT_CONFIG, retentionDays: 30 }),
    host: () => host,
    sessions: {
      enrolment: async () => ({
        deviceId: 'dev-1',
        subjects: ['alice'],
        serverUrl: DEFAULT_CONFIG.serverUrl,
        enrolledAt: NOW - 3 * DAY,
      }),
      forgetDevice,
    },
    history: { list: async () => history, prune },
    clearStorage: async () => void calls.push('clear-storage'),
    lastRetentionRun: { get: async () => lastRun, set: async (at) => void (lastRun = at) },
    extensionVersion: '0.1.0',
    now: () => NOW,
  });
  return { control, host, calls, forgetDevice, prune, aliceKey };
}

describe('DataControl', () => {
  it('exports metadata, counts and history, naming the enrolled subjects', async () => {
    const { control, aliceKey } = await setup();
    const doc = await control.exportDocument();
    expect(doc).toEqual({
      format: 'tacit-export',
      version: 1,
      exportedAt: new Date(NOW).toISOString(),
      extensionVersion: '0.1.0',
      serverUrl: DEFAULT_CONFIG.serverUrl,
      retentionDays: 30,
      device: {
        deviceId: 'dev-1',
        enrolledAt: new Date(NOW - 3 * DAY).toISOString(),
        subjects: ['alice'],
      },
      subjects: [
        {
          subject: 'alice',
          subjectKey: aliceKey,
          windows: [
            {
              modality: 'keystroke',
              count: 10,
              oldestAt: new Date(NOW - 2 * DAY).toISOString(),
              newestAt: new Date(NOW - DAY).toISOString(),
            },
          ],
          models: [
            {
              modality: 'keystroke',
              featureSchema: 2,
              withSharedEncoder: true,
              trainedAt: new Date(NOW - DAY).toISOString(),
              lastUsedAt: new Date(NOW).toISOString(),
            },
          ],
        },
        {
          subject: null,
          subjectKey: 'orphan-key',
          windows: [
            {
              modality: 'pointer',
              count: 2,
              oldestAt: new Date(NOW - DAY).toISOString(),
              newestAt: new Date(NOW - DAY).toISOString(),
            },
          ],
          models: [],
        },
      ],
      attestations: [
        {
          sid: 's1',
          seq: 1,
          at: new Date(NOW - 1000).toISOString(),
          state: 'scoring',
          conf: 0.91,
          progress: 1,
          result: 'accepted',
          code: null,
          assurance: 0.9,
          level: 'high',
        },
      ],
    });
  });

  it('deletes everything only after the server revoked the device', async () => {
    const { control, calls } = await setup();
    await expect(control.deleteEverything()).resolves.toEqual({ revoked: 1 });
    expect(calls).toEqual(['revoke+forget-key', 'erase-models', 'clear-storage']);
  });

  it('deletes nothing when the server cannot be reached', async () => {
    const { control, calls, forgetDevice } = await setup();
    forgetDevice.mockRejectedValueOnce(new ExtensionError('ERR_NETWORK', 'down'));
    await expect(control.deleteEverything()).rejects.toMatchObject({ code: 'ERR_NETWORK' });
    expect(calls).toEqual([]);
  });

  it('applies retentionDays to models and history, at most once an hour', async () => {
    const { control, host, prune } = await setup();
    await control.maybeApplyRetention();
    await control.maybeApplyRetention();
    expect(host.applyRetention).toHaveBeenCalledExactlyOnceWith(30 * DAY);
    expect(prune).toHaveBeenCalledExactlyOnceWith(NOW - 30 * DAY);
    expect(RETENTION_EVERY_MS).toBe(3_600_000);
  });
});
