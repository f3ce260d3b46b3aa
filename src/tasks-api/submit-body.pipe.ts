import { HttpException, Injectable, PipeTransform } from '@nestjs/common';
import { EnvelopeValidator } from '../app/validation-pipe';
import { SubmitBatchDto, SubmitTaskDto } from './dto/submit-task.dto';

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
  private readonly envelope = new EnvelopeValidator();

  async transform(body: unknown): Promise<SubmitTaskDto> {
    if (!isObject(body) || !Object.hasOwn(body, 'payload')) return this.envelope.validate(SubmitTaskDto, body);
    const dto = await this.envelope.validate(SubmitTaskDto, { ...body, payload: standIn(body.payload) });
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
  private readonly envelope = new EnvelopeValidator();
  private readonly item = new SubmitTaskPipe();

  async transform(body: unknown): Promise<BatchItem[]> {
    const tasks = isObject(body) ? body.tasks : undefined;
    if (!Array.isArray(tasks)) {
      await this.envelope.validate(SubmitBatchDto, body);
      return [];
    }
    await this.envelope.validate(SubmitBatchDto, { ...(body as object), tasks: tasks.map(standIn) });
    return Promise.all(tasks.map((t) => this.item.transform(t).catch((err: unknown) => (err instanceof HttpException ? err : Promise.reject(err)))));
  }
}
