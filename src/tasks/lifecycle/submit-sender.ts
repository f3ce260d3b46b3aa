import { Redis } from 'ioredis';
import { SUBMIT_MANY_VARIANTS, SUBMIT_VARIANTS, SubmitVariant, lifecycleCommands } from './lifecycle-scripts';

/** A command defined on an ioredis connection (a Lua script), called by name. */
export type Cmd = (...args: (string | number | Buffer)[]) => Promise<unknown>;
type Reply = [Error | null, unknown];

/** A task's add command: BullMQ's keys, then its three arguments and Sluice's (add-job.lua). */
export interface SubmitCall {
  variant: SubmitVariant;
  argv: (string | number | Buffer)[];
}

/**
 * Tasks per add-many script. A no-op task costs Redis about 50 µs, so a run holds Redis for about
 * 5 ms; the workers' and other API pods' commands wait at most that long behind it.
 */
const SUBMIT_CHUNK = 100;

/** How many of an add command's arguments are keys, by variant (BullMQ's scripts say). */
const SUBMIT_KEYS = Object.fromEntries(
  (Object.keys(SUBMIT_VARIANTS) as SubmitVariant[]).map((v) => [v, lifecycleCommands()[SUBMIT_VARIANTS[v]].numberOfKeys]),
) as Record<SubmitVariant, number>;

interface Waiting {
  call: SubmitCall;
  done: (reply: Reply) => void;
}

/**
 * Sends add commands, coalescing the submissions that concurrent requests make in one turn of the
 * event loop: they wait for setImmediate, then go together as runs of up to SUBMIT_CHUNK tasks of
 * one variant, in order, each run one add-many script. Under load, a single POST then shares its
 * Redis write (a system call that a profile of 64 POSTs in flight put at a tenth of the API's CPU),
 * its ioredis command and Redis' script set-up with the others of its turn; alone, it waits for
 * nothing but the end of its turn.
 *
 * Unlike ioredis' auto-pipelining, which keeps one pipeline in flight per connection and queues the
 * next behind it (so a frozen Redis doubled the time to a 503), every turn's commands are sent at
 * once, each with its own timeout. A run is one atomic script: its tasks are all written or, when
 * Redis fails during it, all of unknown outcome, as every task of a batch already was.
 */
export class SubmitSender {
  private readonly commands: Record<string, Cmd>;
  private waiting = new Map<string, Waiting[]>();
  private scheduled = false;

  constructor(private readonly redis: Redis) {
    this.commands = redis as unknown as Record<string, Cmd>;
  }

  /** Each call's reply, or its error, in order; the calls are of one queue (their keys are its). */
  send(queue: string, calls: SubmitCall[]): Promise<Reply[]> {
    let group = this.waiting.get(queue);
    if (!group) this.waiting.set(queue, (group = []));
    const list = group;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return Promise.all(calls.map((call) => new Promise<Reply>((done) => list.push({ call, done }))));
  }

  private flush(): void {
    this.scheduled = false;
    const groups = this.waiting;
    this.waiting = new Map();
    for (const group of groups.values()) {
      this.sendNow(group.map((w) => w.call)).then(
        (replies) => group.forEach((w, i) => w.done(replies[i] ?? [new Error('Redis sent no reply for the task'), null])),
        (err: Error) => group.forEach((w) => w.done([err, null])),
      );
    }
  }

  /**
   * A lone task is sent as its command. An ioredis pipeline copies every script command of the
   * connection onto itself when it is made (about 60 with the lifecycle scripts), so one is made
   * only for more than one command.
   */
  private async sendNow(calls: SubmitCall[]): Promise<Reply[]> {
    const runs: SubmitCall[][] = [];
    for (const c of calls) {
      const last = runs[runs.length - 1];
      if (last && last.length < SUBMIT_CHUNK && last[0].variant === c.variant) last.push(c);
      else runs.push([c]);
    }
    const commands = runs.map((run) => this.command(run));
    let replies: Reply[];
    if (commands.length === 1) {
      const [name, args] = commands[0];
      replies = [[null, await this.commands[name](...args)]];
    } else {
      const pipe = this.redis.pipeline() as unknown as Record<string, Cmd> & { exec(): Promise<Reply[] | null> };
      for (const [name, args] of commands) pipe[name](...args);
      replies = (await pipe.exec()) ?? [];
    }
    return runs.flatMap((run, i): Reply[] => {
      const [err, reply] = replies[i] ?? [new Error('Redis sent no reply for the tasks'), null];
      if (run.length === 1 || err) return run.map(() => [err, reply]);
      return (reply as unknown[]).map((r) => [null, r]);
    });
  }

  private command(run: SubmitCall[]): [string, (string | number | Buffer)[]] {
    const { variant, argv } = run[0];
    if (run.length === 1) return [SUBMIT_VARIANTS[variant], argv];
    const nKeys = SUBMIT_KEYS[variant];
    const args: (string | number | Buffer)[] = [...argv.slice(0, nKeys), argv.length - nKeys];
    for (const c of run) for (let i = nKeys; i < c.argv.length; i++) args.push(c.argv[i]);
    return [SUBMIT_MANY_VARIANTS[variant], args];
  }
}
