import { QueueName } from '../queue-names';
import { defineTaskType } from '../task-type';
import {
  DIAGNOSTIC_CPU_SCHEMA,
  DIAGNOSTIC_CRASH_SCHEMA,
  DIAGNOSTIC_FAIL_SCHEMA,
  DIAGNOSTIC_MEMORY_SCHEMA,
  DIAGNOSTIC_SLEEP_SCHEMA,
} from './payload.schemas';
import { DIAGNOSTIC_CPU_RESULT, DIAGNOSTIC_CRASH_RESULT, DIAGNOSTIC_FAIL_RESULT, DIAGNOSTIC_MEMORY_RESULT, DIAGNOSTIC_SLEEP_RESULT } from './result.schemas';

type Handlers = typeof import('./handlers');
/** All five handlers are one small module, loaded with the first diagnostic task a child runs. */
const handlers = (): Handlers => require('./handlers') as Handlers;

/** For smoke tests of a deployment and for tests of every failure mode: registered only with ENABLE_DIAGNOSTIC_TASKS=true. */
const diagnostic = { diagnostic: true, policy: { queue: QueueName.CpuIntensive } } as const;

export const DIAGNOSTIC_TYPES = [
  defineTaskType<typeof DIAGNOSTIC_SLEEP_SCHEMA, typeof DIAGNOSTIC_SLEEP_RESULT>({
    ...diagnostic,
    name: 'diagnostic.sleep',
    description: 'Sleeps; stops early at the soft limit',
    payload: DIAGNOSTIC_SLEEP_SCHEMA,
    result: DIAGNOSTIC_SLEEP_RESULT,
    loadHandler: () => handlers().sleepHandler,
  }),
  defineTaskType<typeof DIAGNOSTIC_CPU_SCHEMA, typeof DIAGNOSTIC_CPU_RESULT>({
    ...diagnostic,
    name: 'diagnostic.cpu',
    description: 'Busy-loops, ignoring signals',
    payload: DIAGNOSTIC_CPU_SCHEMA,
    result: DIAGNOSTIC_CPU_RESULT,
    loadHandler: () => handlers().cpuHandler,
  }),
  defineTaskType<typeof DIAGNOSTIC_MEMORY_SCHEMA, typeof DIAGNOSTIC_MEMORY_RESULT>({
    ...diagnostic,
    name: 'diagnostic.memory',
    description: 'Allocates real memory',
    payload: DIAGNOSTIC_MEMORY_SCHEMA,
    result: DIAGNOSTIC_MEMORY_RESULT,
    loadHandler: () => handlers().memoryHandler,
  }),
  defineTaskType<typeof DIAGNOSTIC_FAIL_SCHEMA, typeof DIAGNOSTIC_FAIL_RESULT>({
    ...diagnostic,
    name: 'diagnostic.fail',
    description: 'Throws an error',
    payload: DIAGNOSTIC_FAIL_SCHEMA,
    result: DIAGNOSTIC_FAIL_RESULT,
    loadHandler: () => handlers().failHandler,
  }),
  defineTaskType<typeof DIAGNOSTIC_CRASH_SCHEMA, typeof DIAGNOSTIC_CRASH_RESULT>({
    ...diagnostic,
    name: 'diagnostic.crash',
    description: 'Exits its child process abruptly',
    payload: DIAGNOSTIC_CRASH_SCHEMA,
    result: DIAGNOSTIC_CRASH_RESULT,
    loadHandler: () => handlers().crashHandler,
  }),
];
