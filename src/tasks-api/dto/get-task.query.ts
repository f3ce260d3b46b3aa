import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNumber, IsOptional, Max, Min } from 'class-validator';

/** The longest long poll: a proxy's idle timeout is rarely shorter. */
export const MAX_WAIT_SECONDS = 60;

export class GetTaskQuery {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_WAIT_SECONDS,
    example: 30,
    description: `Long poll: answer as soon as the task is final, or after this many seconds (fractions allowed, at most ${MAX_WAIT_SECONDS}) with its state then`,
  })
  @IsOptional()
  // Only a plain decimal becomes a number: '', '1e3' or '0x10' stay strings and are refused.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value))
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'wait must be a number of seconds' })
  @Min(0)
  @Max(MAX_WAIT_SECONDS)
  wait?: number;
}
