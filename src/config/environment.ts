import { ConfigModule as NestConfigModule } from '@nestjs/config';
import { resolve } from 'node:path';
import { AppConfig, loadConfig } from './configuration';

export interface ReadOptions {
  /** Read `.env` from the working directory too (development; never with NODE_ENV=production). */
  envFile: boolean;
  /** Values that win over the environment and `.env` (npm start fills in REDIS_URL and a key). */
  overrides?: (raw: Record<string, string | undefined>) => Record<string, string | undefined>;
}

/**
 * Reads the configuration through @nestjs/config: it merges `.env` (when allowed; variables already
 * in the environment win) with the environment, and runs loadConfig, the class-validator schema, as
 * its `validate`, which reports every invalid variable at once in one ConfigError.
 */
export async function readConfig(options: ReadOptions): Promise<AppConfig> {
  let config: AppConfig | undefined;
  await NestConfigModule.forRoot({
    ignoreEnvFile: !options.envFile,
    envFilePath: resolve(process.cwd(), '.env'),
    validate: (raw: Record<string, string | undefined>) => {
      config = loadConfig(options.overrides ? options.overrides({ ...raw }) : raw);
      return raw;
    },
  });
  return config!;
}

/** The raw environment, `.env` merged in, as @nestjs/config reads it; not yet validated. */
export async function readEnvironment(envFile: boolean): Promise<Record<string, string | undefined>> {
  let env: Record<string, string | undefined> = {};
  await NestConfigModule.forRoot({
    ignoreEnvFile: !envFile,
    envFilePath: resolve(process.cwd(), '.env'),
    validate: (raw: Record<string, string | undefined>) => (env = { ...raw }),
  });
  return env;
}

/** `.env` is for development only: production takes its configuration from the environment. */
export const envFileAllowed = (): boolean => process.env.NODE_ENV !== 'production';
