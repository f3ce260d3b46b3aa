import {
  DIAGNOSTIC_CPU_SCHEMA,
  DIAGNOSTIC_CRASH_SCHEMA,
  DIAGNOSTIC_FAIL_SCHEMA,
  DIAGNOSTIC_MEMORY_SCHEMA,
  DIAGNOSTIC_SLEEP_SCHEMA,
} from './definitions/diagnostic.schema';
import { GATHER_PAYLOAD_SCHEMA, checkGatherPayload } from './definitions/gather.schema';
import type { ObjectSchema, PayloadCheck } from './definitions/payload-schema';
import { QueueName, TaskName } from './task-names';

/** What a task type is, independent of configuration; the registry adds the policy. */
export interface TaskDefinition {
  name: TaskName;
  queue: QueueName;
  /** The one schema of its payload: compiled into its validator, and its OpenAPI component. */
  payload: ObjectSchema;
  /** What the schema cannot say, checked after it. */
  check?: PayloadCheck;
  description: string;
  diagnostic: boolean;
}

export const TASK_DEFINITIONS: readonly TaskDefinition[] = [
  {
    name: TaskName.AutomatedGatherCreation,
    queue: QueueName.CpuIntensive,
    payload: GATHER_PAYLOAD_SCHEMA,
    check: checkGatherPayload,
    description: 'Groups participants into gatherings by location, availability and interests',
    diagnostic: false,
  },
  {
    name: TaskName.DiagnosticSleep,
    queue: QueueName.CpuIntensive,
    payload: DIAGNOSTIC_SLEEP_SCHEMA,
    description: 'Sleeps; stops early at the soft limit',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticCpu,
    queue: QueueName.CpuIntensive,
    payload: DIAGNOSTIC_CPU_SCHEMA,
    description: 'Busy-loops, ignoring signals',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticMemory,
    queue: QueueName.CpuIntensive,
    payload: DIAGNOSTIC_MEMORY_SCHEMA,
    description: 'Allocates real memory',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticFail,
    queue: QueueName.CpuIntensive,
    payload: DIAGNOSTIC_FAIL_SCHEMA,
    description: 'Throws an error',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticCrash,
    queue: QueueName.CpuIntensive,
    payload: DIAGNOSTIC_CRASH_SCHEMA,
    description: 'Exits its child process abruptly',
    diagnostic: true,
  },
];
