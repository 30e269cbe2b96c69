/**
 * SSF stream management (OpenID SSF 1.0 §8.1): a relying party creates, reads, updates,
 * replaces and deletes its streams, reads and sets their status, and asks for verification
 * events; it polls poll streams (RFC 8936) and lists push streams' dead letters. A stream
 * belongs to the API key that created it: any other key gets 404 `ERR_UNKNOWN_STREAM`, as for
 * a stream that does not exist.
 *
 * Every session of the relying party is a subject of its streams (`default_subjects: ALL`);
 * there is no per-subject subscription.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Clock } from '../clock';
import { BadRequest, StreamLimit, UnknownStream } from '../errors';
import type { Logger } from '../observability/log';
import type { StreamRecord, Store, StreamStatus } from '../store/store';
import {
  POLL_METHOD,
  PUSH_METHOD,
  type DeadLettersAnswer,
  type PollAnswer,
  type SsfConfigurationAnswer,
  type StreamConfigAnswer,
  type StreamStatusAnswer,
  type pollBody,
  type streamCreateBody,
  type streamUpdateBody,
} from '../contract/schemas';
import { SUPPORTED_EVENTS } from './events';
import type { SsfTransmitter } from './transmitter';

/** Streams one relying party may have. */
export const MAX_STREAMS_PER_RP = 10;
/** How long a poll with `returnImmediately: false` waits for an event (ms). */
export const LONG_POLL_MS = 5000;

/** What the stream service needs. */
export interface StreamServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  transmitter: SsfTransmitter;
  /** The verifier's public URL (`iss`, endpoints). */
  issuer: string;
  /** Whether a push endpoint may be plain `http:` on a non-loopback host (tests only: never). */
  allowInsecurePush?: boolean;
}

type Delivery = z.infer<typeof streamCreateBody>['delivery'];

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** See the module comment. */
export class StreamService {
  readonly #d: StreamServiceDeps;

  constructor(deps: StreamServiceDeps) {
    this.#d = deps;
  }

  /** Transmitter configuration metadata (`/.well-known/ssf-configuration`). */
  configuration(): SsfConfigurationAnswer {
    const base = this.#d.issuer;
    return {
      spec_version: '1_0',
      issuer: base,
      jwks_uri: `${base}/.well-known/jwks.json`,
      delivery_methods_supported: [PUSH_METHOD, POLL_METHOD],
      configuration_endpoint: `${base}/v1/ssf/streams`,
      status_endpoint: `${base}/v1/ssf/status`,
      verification_endpoint: `${base}/v1/ssf/verify`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
    };
  }

  /** The answer shape of a stream. */
  config(s: StreamRecord): StreamConfigAnswer {
    return {
      stream_id: s.id,
      iss: this.#d.issuer,
      aud: s.aud,
      delivery: {
        method: s.deliveryMethod === 'push' ? PUSH_METHOD : POLL_METHOD,
        endpoint_url: s.endpointUrl ?? `${this.#d.issuer}/v1/ssf/poll/${s.id}`,
      },
      events_supported: [...SUPPORTED_EVENTS],
      events_requested: s.eventsRequested,
      events_delivered: s.eventsDelivered,
      ...(s.description === null ? {} : { description: s.description }),
    };
  }

  /** The caller's stream, or 404. */
  async own(rp: string, id: string): Promise<StreamRecord> {
    const stream = await this.#d.store.ssf.getStream(id);
    if (!stream || stream.rp !== rp) throw new UnknownStream();
    return stream;
  }

  #delivery(
    d: Delivery,
  ): Pick<StreamRecord, 'deliveryMethod' | 'endpointUrl' | 'authorizationHeader'> {
    if (d.method === POLL_METHOD) {
      return { deliveryMethod: 'poll', endpointUrl: null, authorizationHeader: null };
    }
    const url = new URL(d.endpoint_url);
    // Like the SDK: TLS unless the receiver is on this machine.
    if (url.protocol !== 'https:' && !LOOPBACK.has(url.hostname) && !this.#d.allowInsecurePush) {
      throw new BadRequest('push endpoint must be https');
    }
    if (url.username || url.password || url.hash) {
      throw new BadRequest('push endpoint must not carry credentials or a fragment');
    }
    return {
      deliveryMethod: 'push',
      endpointUrl: url.href,
      authorizationHeader: d.authorization_header ?? null,
    };
  }

  /** Creates a stream (enabled). History before the first stream is never sent. */
  async create(rp: string, body: z.infer<typeof streamCreateBody>): Promise<StreamConfigAnswer> {
    const { store } = this.#d;
    if ((await store.ssf.listStreams(rp)).length >= MAX_STREAMS_PER_RP) throw new StreamLimit();
    // The first stream of the deployment starts the fan-out at the end of the audit trail.
    if ((await store.ssf.cursor()) === null) await this.#d.transmitter.fanOutOnce();
    const now = this.#d.clock.now();
    const stream: StreamRecord = {
      id: randomUUID(),
      rp,
      aud: rp,
      ...this.#delivery(body.delivery),
      eventsRequested: body.events_requested,
      eventsDelivered: delivered(body.events_requested),
      description: body.description ?? null,
      status: 'enabled',
      reason: null,
      createdAt: now,
      updatedAt: now,
    };
    await store.ssf.putStream(stream);
    this.#d.logger.info('ssf_stream_created', {
      rp,
      stream: stream.id,
      method: stream.deliveryMethod,
    });
    return this.config(stream);
  }

  /** One stream, or every stream of the caller. */
  async read(
    rp: string,
    id: string | undefined,
  ): Promise<StreamConfigAnswer | StreamConfigAnswer[]> {
    if (id !== undefined) return this.config(await this.own(rp, id));
    return (await this.#d.store.ssf.listStreams(rp)).map((s) => this.config(s));
  }

  /** PATCH (`replace: false`: the members present) or PUT (every receiver-supplied member). */
  async update(
    rp: string,
    body: z.infer<typeof streamUpdateBody>,
    replace: boolean,
  ): Promise<StreamConfigAnswer> {
    const current = await this.own(rp, body.stream_id);
    const requested = body.events_requested ?? (replace ? [] : current.eventsRequested);
    const next: StreamRecord = {
      ...current,
      ...(body.delivery ? this.#delivery(body.delivery) : {}),
      eventsRequested: requested,
      eventsDelivered: delivered(requested),
      description: body.description ?? (replace ? null : current.description),
      updatedAt: this.#d.clock.now(),
    };
    await this.#d.store.ssf.putStream(next);
    return this.config(next);
  }

  async remove(rp: string, id: string): Promise<void> {
    await this.own(rp, id);
    await this.#d.store.ssf.deleteStream(id);
    this.#d.logger.info('ssf_stream_deleted', { rp, stream: id });
  }

  async status(rp: string, id: string): Promise<StreamStatusAnswer> {
    return statusOf(await this.own(rp, id));
  }

  /**
   * Sets the status (SSF 1.0 §8.1.2): `paused` holds events until `enabled` again;
   * `disabled` drops the queued ones and queues none.
   */
  async setStatus(
    rp: string,
    id: string,
    status: StreamStatus,
    reason: string | undefined,
  ): Promise<StreamStatusAnswer> {
    const current = await this.own(rp, id);
    const next = { ...current, status, reason: reason ?? null, updatedAt: this.#d.clock.now() };
    await this.#d.store.ssf.putStream(next);
    this.#d.logger.info('ssf_stream_status', { rp, stream: id, status });
    return statusOf(next);
  }

  /** Queues a verification event (delivered like any other; held while paused). */
  async verify(rp: string, id: string, state: string | undefined): Promise<void> {
    const stream = await this.own(rp, id);
    if (stream.status === 'disabled') throw new BadRequest('stream disabled');
    await this.#d.transmitter.verify(stream, state);
  }

  /** RFC 8936 poll of a poll stream. */
  async poll(rp: string, id: string, body: z.infer<typeof pollBody>): Promise<PollAnswer> {
    const stream = await this.own(rp, id);
    if (stream.deliveryMethod !== 'poll') throw new BadRequest('not a poll stream');
    for (const [jti, e] of Object.entries(body.setErrs)) {
      // The receiver's own words stay out of the log: only its error code, if plain.
      const err = /^[a-z_]{1,32}$/.test(e.err) ? e.err : 'other';
      this.#d.logger.warn('ssf_set_error', { stream: id, jti, err });
    }
    const ack = [...body.ack, ...Object.keys(body.setErrs)];
    let answer = await this.#pollOnce(id, ack, body.maxEvents);
    const until = Date.now() + LONG_POLL_MS;
    while (
      answer.events.length === 0 &&
      !body.returnImmediately &&
      body.maxEvents > 0 &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 250));
      answer = await this.#pollOnce(id, [], body.maxEvents);
    }
    return {
      sets: Object.fromEntries(answer.events.map((e) => [e.jti, e.set])),
      moreAvailable: answer.more,
    };
  }

  async #pollOnce(id: string, ack: readonly string[], max: number) {
    // Events committed a moment ago are queued before they are read.
    await this.#d.transmitter.fanOutAll();
    return this.#d.store.ssf.poll(id, ack, max);
  }

  async deadLetters(rp: string, id: string): Promise<DeadLettersAnswer> {
    await this.own(rp, id);
    const letters = await this.#d.store.ssf.deadLetters(id);
    return {
      stream_id: id,
      dead_letters: letters.map((d) => ({
        jti: d.jti,
        attempts: d.attempts,
        error: d.error,
        failed_at: new Date(d.failedAt).toISOString(),
      })),
    };
  }
}

function delivered(requested: readonly string[]): string[] {
  return SUPPORTED_EVENTS.filter((t) => requested.includes(t));
}

function statusOf(s: StreamRecord): StreamStatusAnswer {
  return { stream_id: s.id, status: s.status, ...(s.reason === null ? {} : { reason: s.reason }) };
}
