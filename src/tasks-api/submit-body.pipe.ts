import { ArgumentMetadata, HttpException, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import { VALIDATION_OPTIONS } from '../app/validation-pipe';
import { SubmitBatchDto, SubmitTaskDto } from './dto/submit-task.dto';

const TASK: ArgumentMetadata = { type: 'body', metatype: SubmitTaskDto };
const BATCH: ArgumentMetadata = { type: 'body', metatype: SubmitBatchDto };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The same kind of value for class-validator to judge (object, array or scalar), with none of its content. */
function standIn(value: unknown): unknown {
  if (Array.isArray(value)) return [];
  return isObject(value) ? {} : value;
}

/** An item of a batch: its envelope, or why the envelope is invalid (a 422 of its own). */
export type BatchItem = SubmitTaskDto | HttpException;

/**
 * class-validator judges the envelope (task_name, options, that payload is an object) and never
 * sees the payload: ValidationPipe walks and copies whatever it is given, and a payload of 100k
 * participants costs several times its parse there. The payload is validated once, against its
 * type's schema, by TaskRegistry.validatePayload, and reaches Redis as the parser built it.
 */
@Injectable()
export class SubmitTaskPipe implements PipeTransform<unknown, Promise<SubmitTaskDto>> {
  private readonly envelope = new ValidationPipe(VALIDATION_OPTIONS);

  async transform(body: unknown): Promise<SubmitTaskDto> {
    if (!isObject(body) || !Object.hasOwn(body, 'payload')) return this.envelope.transform(body, TASK);
    const dto: SubmitTaskDto = await this.envelope.transform({ ...body, payload: standIn(body.payload) }, TASK);
    if (isObject(body.payload)) dto.payload = body.payload;
    return dto;
  }
}

/**
 * The batch's envelope (1 to MAX_BATCH objects), then each item's as SubmitTaskPipe judges it, so
 * that one bad item gets its own 422 instead of failing the batch.
 */
@Injectable()
export class SubmitBatchPipe implements PipeTransform<unknown, Promise<BatchItem[]>> {
  private readonly envelope = new ValidationPipe(VALIDATION_OPTIONS);
  private readonly item = new SubmitTaskPipe();

  async transform(body: unknown): Promise<BatchItem[]> {
    const tasks = isObject(body) ? body.tasks : undefined;
    if (!Array.isArray(tasks)) {
      await this.envelope.transform(body, BATCH);
      return [];
    }
    await this.envelope.transform({ ...(body as object), tasks: tasks.map(standIn) }, BATCH);
    return Promise.all(tasks.map((t) => this.item.transform(t).catch((err: unknown) => (err instanceof HttpException ? err : Promise.reject(err)))));
  }
}
