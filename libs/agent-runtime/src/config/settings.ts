/**
 * Typed settings that fail fast. Every field is declared once, with its default, range and
 * description; values come from the defaults, then the JSON file, then the environment, and are
 * validated once at start. A bad value stops the agent with a message naming the source, the key, the
 * value and what is allowed.
 */

interface FieldBase<T> {
  default: T;
  description: string;
  /** Environment variable that overrides the file (default OUTPOST_<SCOPE>_<KEY>). */
  env?: string;
}

export interface IntField extends FieldBase<number> {
  kind: 'int';
  min: number;
  max: number;
  /** Unit shown in errors and docs (e.g. "ms"). */
  unit?: string;
}
export interface StringField extends FieldBase<string> {
  kind: 'string';
  pattern?: RegExp;
}
export interface BoolField extends FieldBase<boolean> {
  kind: 'bool';
}
export interface EnumField<V extends string = string> extends FieldBase<V> {
  kind: 'enum';
  values: readonly V[];
}
export interface ListField extends FieldBase<readonly string[]> {
  kind: 'list';
  /** If given, every item must be one of these. */
  allowed?: readonly string[];
}

export type Field = IntField | StringField | BoolField | EnumField | ListField;
export type SettingsSpec = Record<string, Field>;

export type SettingsOf<S extends SettingsSpec> = {
  readonly [K in keyof S]: S[K] extends IntField
    ? number
    : S[K] extends BoolField
      ? boolean
      : S[K] extends EnumField<infer V>
        ? V
        : S[K] extends ListField
          ? readonly string[]
          : string;
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface SettingsSources {
  /** Parsed JSON file content (an object), and where it came from. */
  file?: { path: string; values: Record<string, unknown> };
  env: NodeJS.ProcessEnv;
  /** Prefix of derived environment names, e.g. OUTPOST_NODE. */
  envPrefix: string;
}

export function envNameOf(prefix: string, key: string): string {
  return `${prefix}_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export function loadSettings<S extends SettingsSpec>(spec: S, sources: SettingsSources): SettingsOf<S> {
  const out: Record<string, unknown> = {};
  const fileValues = sources.file?.values ?? {};
  for (const key of Object.keys(fileValues)) {
    if (!(key in spec)) {
      throw new ConfigError(
        `${sources.file?.path}: unknown key "${key}" (known: ${Object.keys(spec).join(', ') || 'none'})`,
      );
    }
  }
  for (const [key, field] of Object.entries(spec)) {
    const envName = field.env ?? envNameOf(sources.envPrefix, key);
    const envValue = sources.env[envName];
    if (envValue !== undefined && envValue !== '') {
      out[key] = fromText(field, envValue, `environment ${envName}`, key);
    } else if (key in fileValues) {
      out[key] = fromJson(field, fileValues[key], `${sources.file?.path}`, key);
    } else {
      out[key] = field.default;
    }
  }
  return out as SettingsOf<S>;
}

function describe(field: Field): string {
  switch (field.kind) {
    case 'int':
      return `an integer in [${field.min}, ${field.max}]${field.unit ? ` ${field.unit}` : ''}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${field.values.join(', ')}`;
    case 'list':
      return field.allowed ? `a list of ${field.allowed.join(', ')}` : 'a list of strings';
    case 'string':
      return field.pattern ? `a string matching ${field.pattern}` : 'a string';
  }
}

function invalid(source: string, key: string, value: unknown, field: Field): ConfigError {
  return new ConfigError(
    `${source}: "${key}" = ${JSON.stringify(value)} is not valid: must be ${describe(field)} (${field.description})`,
  );
}

function fromText(field: Field, text: string, source: string, key: string): unknown {
  switch (field.kind) {
    case 'int':
      return fromJson(field, /^-?\d+$/.test(text.trim()) ? Number(text) : text, source, key);
    case 'bool':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw invalid(source, key, text, field);
    case 'list':
      return fromJson(
        field,
        text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        source,
        key,
      );
    default:
      return fromJson(field, text, source, key);
  }
}

function fromJson(field: Field, value: unknown, source: string, key: string): unknown {
  switch (field.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < field.min || value > field.max) {
        throw invalid(source, key, value, field);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(source, key, value, field);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !field.values.includes(value))
        throw invalid(source, key, value, field);
      return value;
    case 'list':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
        throw invalid(source, key, value, field);
      if (field.allowed && value.some((v) => !field.allowed?.includes(v as string))) {
        throw invalid(source, key, value, field);
      }
      return Object.freeze([...(value as string[])]);
    case 'string':
      if (typeof value !== 'string' || (field.pattern && !field.pattern.test(value))) {
        throw invalid(source, key, value, field);
      }
      return value;
  }
}
