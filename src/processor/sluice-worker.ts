import { Job, Worker } from 'bullmq';

/** What BullMQ's move calls return when they fetched the next job: [job, id, rate-limit delay, delay-until]. */
type NextJobData = [unknown, string | undefined, number | undefined, number | undefined];

/**
 * BullMQ's Worker, with one seam: a job that Sluice's own final move fetched (moveToFinished and
 * moveToDelayed take the next job in the same script, as BullMQ's own moves do) is handed to
 * BullMQ's loop in place of its next moveToActive call. The task runner moves each job itself, with
 * its lock token, so that it knows whether the move was accepted (see lifecycle/task-transitions),
 * and this keeps that from costing a second round trip per task.
 */
export class SluiceWorker<T = unknown> extends Worker<T> {
  private readonly fetched = new Map<string, NextJobData>();

  /** Whether a move may fetch the next job now: BullMQ's own rule for its moves. */
  get mayFetchNext(): boolean {
    return !this.closing && !this.isPaused();
  }

  /**
   * Keeps what a move with fetch-next returned for the processor chain of `token`. BullMQ asks for
   * it within the same turn of the event loop (the processor's WaitingError leads straight to its
   * moveToActive); if it did not, its loop decided not to fetch, and the job goes back at once.
   */
  handOver(token: string, moved: unknown): void {
    if (!Array.isArray(moved) || !moved[0]) return;
    const next = moved as NextJobData;
    this.fetched.set(token, next);
    setImmediate(() => {
      if (this.fetched.get(token) === next) void this.putBack(token, next);
    });
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job<T>> {
    const next = this.fetched.get(token);
    if (!next) return super.moveToActive(token, name);
    this.fetched.delete(token);
    const [jobData, id, rateLimitDelay, delayUntil] = next;
    (this as unknown as { updateDelays(a?: number, b?: number): void }).updateDelays(rateLimitDelay, delayUntil);
    return this.nextJobFromJobData((jobData ?? undefined) as never, id, token);
  }

  /**
   * Jobs fetched but not taken up by BullMQ's loop (it was closing or pausing meanwhile): put back
   * in the queue, not using an attempt, rather than left to stall.
   */
  async putBackFetched(): Promise<void> {
    await Promise.all([...this.fetched].map(([token, next]) => this.putBack(token, next)));
  }

  private async putBack(token: string, [jobData, id]: NextJobData): Promise<void> {
    this.fetched.delete(token);
    if (!jobData || !id) return;
    await this.createJob(jobData as never, id)
      .moveToWait(token)
      .catch(() => undefined);
  }
}
