/**
 * Messages between the server bench (`server.ts`, the parent) and its load generator
 * (`server-load.ts`, a forked child process). Wire types only, no logic.
 */

/** Parent → generator. */
export type ToGenerator =
  | {
      type: 'setup';
      /** Base URL of the server under test (loopback). */
      url: string;
      /** Bearer API key of the relying party the sessions belong to. */
      apiKey: string;
      /** Devices to enroll, each with its own key and one bound session. */
      sessions: number;
      /** Device set-ups in flight at once. */
      concurrency: number;
      /** Keep-alive connections of the generator's pool. */
      connections: number;
      /** With an `https:` URL: the PEM certificate (or CA) to trust, and nothing else. */
      ca?: string;
      /** Subjects are `<prefix><i>` (default `bench-user-`): a second setup needs new ones. */
      subjectPrefix?: string;
    }
  | {
      type: 'step';
      /** Target arrival rate, attestations/s. */
      rate: number;
      /** Warm-up at the same rate before the measured part, s (not in the latencies). */
      warmupSeconds: number;
      /** Measured part, s. */
      seconds: number;
      /** How long to wait for answers after the last send, ms (then unanswered = error). */
      drainMs: number;
      /** Per-request timeout, ms. */
      timeoutMs: number;
      /** Report every attestation answered 202 (`acknowledged`), warm-up included. */
      recordAcks?: boolean;
      /** Answer the p99 of each slice of this many seconds of the measured part (the soak). */
      sliceSeconds?: number;
    }
  | {
      /** Send the next steps to another server (the reference handler) with the same devices. */
      type: 'target';
      url: string;
      /** As in `setup`. */
      ca?: string;
    }
  | { type: 'exit' };

/** Generator → parent. */
export type FromGenerator =
  | { type: 'progress'; phase: 'setup' | 'sign'; done: number; total: number }
  | { type: 'ready'; setupMs: number; devices: number; sessions: number; requests: number }
  | { type: 'targeted'; url: string }
  | { type: 'presigned'; attestations: number; ms: number }
  | { type: 'step'; result: GeneratorStep }
  | { type: 'error'; message: string };

/** One step's figures as the generator measured them (latencies from the scheduled time). */
export interface GeneratorStep {
  rate: number;
  warmupSeconds: number;
  seconds: number;
  /** Attestations scheduled in the measured part. */
  scheduled: number;
  /** ... of which were sent (all of them unless the step was cut short). */
  sent: number;
  /** ... answered 202. */
  accepted: number;
  /** Accepted ÷ measured seconds. */
  acceptedPerSecond: number;
  /** Any answer but 202, transport errors, timeouts and unanswered (measured part). */
  errors: number;
  /** The same during warm-up. */
  warmupErrors: number;
  /** Errors by `ERR_…` code, HTTP status or transport error, warm-up included. */
  errorsByKind: Record<string, number>;
  /** Latency from the scheduled send time to the answer's headers, ms (accepted only). */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** How late each request left the generator against its schedule, ms. */
  sendSlipMs: { p50: number; p99: number; max: number };
  /** Event-loop delay of the generator during the step, ms (perf_hooks histogram). */
  clientLoopDelayMs: { p50: number; p99: number; max: number };
  /** Generator CPU time ÷ wall time during the step (1 = one core). */
  clientCpu: number;
  /** Most requests in flight at once. */
  maxInFlight: number;
  /** Wall time of the step from first scheduled send to last answer, ms. */
  wallMs: number;
  /**
   * Sessions still in rotation after the step: a session one of whose attestations was not
   * accepted (its chain on the server is unknown) is retired, so later steps measure the server
   * and not broken chains.
   */
  liveSessions: number;
  /** Requests sent again on a new connection after a reused one closed before answering. */
  resent?: number;
  /** With `recordAcks`: the attestations answered 202, as session id and sequence number. */
  acknowledged?: { sid: string; seq: number }[];
  /**
   * With `sliceSeconds`: p99 latency (ms, accepted only) of each slice of the measured part by
   * scheduled send time; NaN for a slice with no accepted attestation.
   */
  p99PerSliceMs?: number[];
}
