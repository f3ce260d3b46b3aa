/** One unusable configuration value: the variable and what is wrong with it. */
export interface ConfigProblem {
  variable: string;
  detail: string;
}

/** A configuration value that cannot be used; the message always names each variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: ConfigProblem[];

  constructor(variable: string, detail: string);
  constructor(problems: ConfigProblem[]);
  constructor(variableOrProblems: string | ConfigProblem[], detail?: string) {
    const problems = typeof variableOrProblems === 'string' ? [{ variable: variableOrProblems, detail: detail ?? 'is invalid' }] : variableOrProblems;
    super(`Invalid configuration: ${problems.map((p) => `${p.variable} ${p.detail}`).join('; ')}`);
    this.problems = problems;
  }

  /** The first variable named, for callers that report one. */
  get variable(): string {
    return this.problems[0].variable;
  }
}

/** Variables whose values are secret as a whole: never echoed. */
const SECRET_VARIABLES = /KEY|SECRET|PASSWORD|TOKEN/;

/**
 * A value as a configuration error may show it: secrets redacted, and the password of any URL
 * (`scheme://user:password@host`, Sentinel and Cluster forms included) masked.
 */
export function shownValue(variable: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (SECRET_VARIABLES.test(variable)) return '<redacted>';
  return JSON.stringify(value.replace(/(\/\/[^/@:]*):[^/@]*@/g, '$1:***@').replace(/(\/\/)([^/@:]+)@/g, '$1***@'));
}
