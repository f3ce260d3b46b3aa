import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { QUEUE_META_FIELDS, RETRIED_AT_OPT, SLUICE_KEY_SUFFIXES, TASK_FIELDS } from './task-keys';
import { CANCELLED_ERROR } from './task-record';

// BullMQ ships its Lua as modules of {name, keys, content}; the version names its commands.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bullScripts = require('bullmq/dist/cjs/scripts') as Record<string, { name: string; keys: number; content: string }>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version: BULLMQ_VERSION } = require('bullmq/dist/cjs/version') as { version: string };

const lua = (file: string): string => readFileSync(join(__dirname, 'lua', `${file}.lua`), 'utf8');

const luaTable = (o: Record<string, string>): string =>
  `{ ${Object.entries(o)
    .map(([k, v]) => `${k} = '${v}'`)
    .join(', ')} }`;

/** Sluice's Lua library, with the key suffixes and field names of task-keys.ts. */
const LIB = [
  `local SK = ${luaTable(SLUICE_KEY_SUFFIXES)}`,
  `local F = ${luaTable(TASK_FIELDS)}`,
  `local QM = ${luaTable(QUEUE_META_FIELDS)}`,
  `local RETRIED_AT_OPT = '${RETRIED_AT_OPT}'`,
  `local CANCELLED_REASON = '${CANCELLED_ERROR.type}: ${CANCELLED_ERROR.message}'`,
  lua('lib'),
].join('\n');

/**
 * BullMQ's script wrapped as a function, then Sluice's part, which calls it. KEYS and ARGV are the
 * function's parameters, shadowing the script's globals, so that one script can run BullMQ's body
 * for several tasks (add-many.lua).
 */
function composite(bullName: string, sluice: string): { keys: number; lua: string } {
  const s = bullScripts[bullName];
  if (!s) throw new Error(`BullMQ ${BULLMQ_VERSION} has no script ${bullName}`);
  return { keys: s.keys, lua: `${LIB}\nlocal function bullmq_body(KEYS, ARGV)\n${s.content}\nend\n${sluice}` };
}

/**
 * BullMQ's own transitions, extended: defined on a connection under BullMQ's command names before
 * BullMQ loads its scripts (it defines a command only when the name is free), so BullMQ's Worker
 * and Queue run them unchanged, and Sluice's half of each transition happens in the same script,
 * only when BullMQ's half succeeded (its lock-token check included).
 */
const WRAPPED: Record<string, string> = {
  moveToActive: 'move-to-active',
  moveToFinished: 'move-to-finished',
  moveToDelayed: 'move-to-delayed',
  retryJob: 'retry-job',
  moveJobFromActiveToWait: 'move-job-from-active-to-wait',
};

/** Sluice's own commands: the submission variants wrap BullMQ's add scripts. */
export const SUBMIT_VARIANTS = {
  standard: 'sluiceAddStandardJob',
  prioritized: 'sluiceAddPrioritizedJob',
  delayed: 'sluiceAddDelayedJob',
} as const;
export type SubmitVariant = keyof typeof SUBMIT_VARIANTS;
/** The same, for several tasks of one queue and variant in one script (add-many.lua). */
export const SUBMIT_MANY_VARIANTS: Record<SubmitVariant, string> = {
  standard: 'sluiceAddStandardJobs',
  prioritized: 'sluiceAddPrioritizedJobs',
  delayed: 'sluiceAddDelayedJobs',
};

const OWN: Record<string, { keys: number; lua: string }> = {
  sluiceCancel: { keys: 1, lua: `${LIB}\n${lua('cancel')}` },
  sluiceProgress: { keys: 1, lua: `${LIB}\n${lua('progress')}` },
  sluiceList: { keys: 1, lua: `${LIB}\n${lua('list')}` },
  sluiceReap: { keys: 1, lua: `${LIB}\n${lua('reap')}` },
  sluiceCallbackClaim: { keys: 1, lua: `${LIB}\n${lua('callback-claim')}` },
  sluiceCallbackDone: { keys: 2, lua: `${LIB}\n${lua('callback-done')}` },
  sluiceQueueState: { keys: 1, lua: `${LIB}\n${lua('queue-state')}` },
};

/** Operator controls that wrap a BullMQ script: retry (reprocessJob) and pause/resume (pause). */
const OWN_COMPOSITES: Record<string, [bullName: string, file: string]> = {
  sluiceRetry: ['reprocessJob', 'retry'],
  sluicePause: ['pause', 'pause'],
};

const commands = (): Record<string, { numberOfKeys: number; lua: string }> => {
  const out: Record<string, { numberOfKeys: number; lua: string }> = {};
  for (const [bullName, file] of Object.entries(WRAPPED)) {
    const c = composite(bullName, lua(file));
    out[`${bullName}:${BULLMQ_VERSION}`] = { numberOfKeys: c.keys, lua: c.lua };
  }
  const add = lua('add-job');
  for (const [variant, name] of Object.entries(SUBMIT_VARIANTS) as [SubmitVariant, string][]) {
    const bullName = `add${variant[0].toUpperCase()}${variant.slice(1)}Job`;
    const one = composite(bullName, `${add}\n${lua('add-one')}`);
    out[name] = { numberOfKeys: one.keys, lua: one.lua };
    const many = composite(bullName, `${add}\n${lua('add-many')}`);
    out[SUBMIT_MANY_VARIANTS[variant]] = { numberOfKeys: many.keys, lua: many.lua };
  }
  for (const [name, c] of Object.entries(OWN)) out[name] = { numberOfKeys: c.keys, lua: c.lua };
  for (const [name, [bullName, file]] of Object.entries(OWN_COMPOSITES)) {
    const c = composite(bullName, lua(file));
    out[name] = { numberOfKeys: c.keys, lua: c.lua };
  }
  return out;
};

let cached: ReturnType<typeof commands> | undefined;

/** The commands as ioredis' `scripts` option, so that `duplicate()` carries them too. */
export function lifecycleCommands(): ReturnType<typeof commands> {
  return (cached ??= commands());
}

/**
 * Installs the lifecycle scripts on a connection. Must run before BullMQ sees the connection:
 * every Redis client that BullMQ uses for Sluice's queues comes from redis.factory, which does it.
 */
export function installLifecycleScripts(redis: Redis): void {
  for (const [name, def] of Object.entries(lifecycleCommands())) {
    if (!(name in redis)) redis.defineCommand(name, def);
  }
}

export { BULLMQ_VERSION };
