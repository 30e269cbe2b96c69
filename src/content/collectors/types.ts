import type { RawEvent } from '../../../model/events/schema';

/** Where collectors put what they capture. */
export interface EventSink {
  push(event: RawEvent): void;
}

/** One signal collector: registers every listener with `{signal}` and captures timings only. */
export interface Collector {
  readonly name: string;
  init(signal: AbortSignal, sink: EventSink): void;
}
