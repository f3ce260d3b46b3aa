import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  Validate,
} from 'class-validator';

export const GATHER_MAX_PARTICIPANTS = 100_000;

export class LocationDto {
  @ApiProperty({ example: 52.37, minimum: -90, maximum: 90 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-90)
  @Max(90)
  lat: number;

  @ApiProperty({ example: 4.89, minimum: -180, maximum: 180 })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-180)
  @Max(180)
  lon: number;
}

export class ParticipantDto {
  @ApiProperty({ example: 'u1' })
  @IsString()
  @Length(1, 128)
  id: string;

  @ApiProperty({ type: LocationDto })
  @ValidateNested()
  @Type(() => LocationDto)
  location: LocationDto;

  @ApiProperty({ example: ['sat-18', 'sun-11'], description: 'Opaque slot names, compared for equality' })
  @IsArray()
  @ArrayMaxSize(336)
  @IsString({ each: true })
  @Length(1, 64, { each: true })
  availability: string[];

  @ApiProperty({ example: ['chess', 'hiking'] })
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Length(1, 64, { each: true })
  interests: string[];
}

export class GroupSizeDto {
  @ApiProperty({ example: 4, minimum: 2 })
  @IsInt()
  @Min(2)
  @Max(1000)
  min: number;

  @ApiProperty({ example: 8, minimum: 2 })
  @IsInt()
  @Min(2)
  @Max(1000)
  @Validate(
    class MaxNotBelowMin implements ValidatorConstraintInterface {
      validate(max: number, args: ValidationArguments): boolean {
        return max >= (args.object as GroupSizeDto).min;
      }
      defaultMessage(): string {
        return 'max must not be below min';
      }
    },
  )
  max: number;
}

@ValidatorConstraint({ name: 'uniqueParticipantIds' })
class UniqueParticipantIds implements ValidatorConstraintInterface {
  validate(participants: unknown): boolean {
    if (!Array.isArray(participants)) return true;
    const seen = new Set<unknown>();
    for (const p of participants) {
      const id = (p as { id?: unknown } | null)?.id;
      if (seen.has(id)) return false;
      seen.add(id);
    }
    return true;
  }
  defaultMessage(): string {
    return 'participants must have unique ids';
  }
}

/** Payload of `automated_gather_creation`; the contract is in DESIGN.md. */
export class GatherPayloadDto {
  @ApiProperty({ type: [ParticipantDto], minItems: 1, maxItems: GATHER_MAX_PARTICIPANTS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(GATHER_MAX_PARTICIPANTS)
  @Validate(UniqueParticipantIds)
  @ValidateNested({ each: true })
  @Type(() => ParticipantDto)
  participants: ParticipantDto[];

  @ApiProperty({ type: GroupSizeDto })
  @ValidateNested()
  @Type(() => GroupSizeDto)
  group_size: GroupSizeDto;

  @ApiPropertyOptional({ example: 10, description: 'Largest distance from a gathering centre, in km' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(20_100)
  max_distance_km?: number;
}
