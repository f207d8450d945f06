import { JitsshError } from '../../shared/errors.js'
import { parseDuration } from '../../shared/duration.js'

/**
 * A value inside the parsed YAML with its key path, so every validation error names the file,
 * the key path and what is wrong: `config.yaml: policy[1].max_ttl: expected a duration like "15m"`.
 */
export class ConfigNode {
  constructor(
    readonly file: string,
    readonly value: unknown,
    readonly path: string,
  ) {}

  fail(what: string): never {
    throw new JitsshError('ERR_INVALID_CONFIG', `${this.file}: ${this.path || '(top level)'}: ${what}`)
  }

  get missing(): boolean {
    return this.value === undefined || this.value === null
  }

  child(key: string): ConfigNode {
    const record = this.missing ? {} : this.mapping()
    return new ConfigNode(this.file, record[key], this.path ? `${this.path}.${key}` : key)
  }

  mapping(): Record<string, unknown> {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) {
      this.fail('expected a mapping (key: value lines)')
    }
    return this.value as Record<string, unknown>
  }

  /** Rejects keys other than `allowed`, so a typo (`max_tll`) is an error and not a silent default. */
  onlyKeys(allowed: readonly string[]): this {
    if (this.missing) return this
    for (const key of Object.keys(this.mapping())) {
      if (!allowed.includes(key)) {
        const where = this.path ? `${this.path}.${key}` : key
        throw new JitsshError('ERR_INVALID_CONFIG', `${this.file}: ${where}: unknown key (expected one of: ${allowed.join(', ')})`)
      }
    }
    return this
  }

  string(fallback?: string): string {
    if (this.missing) {
      if (fallback !== undefined) return fallback
      this.fail('is required')
    }
    if (typeof this.value !== 'string' || this.value.trim() === '') this.fail('expected a non-empty string')
    return this.value
  }

  optionalString(): string | undefined {
    return this.missing ? undefined : this.string()
  }

  /** One of `values` (as written), or `fallback` when missing. */
  oneOf<T extends string>(values: readonly T[], fallback: T): T {
    if (this.missing) return fallback
    if (typeof this.value !== 'string' || !values.includes(this.value as T)) this.fail(`expected one of: ${values.join(', ')}`)
    return this.value as T
  }

  integer(fallback: number, min: number, max: number): number {
    if (this.missing) return fallback
    if (typeof this.value !== 'number' || !Number.isInteger(this.value) || this.value < min || this.value > max) {
      this.fail(`expected a whole number from ${min} to ${max}`)
    }
    return this.value
  }

  boolean(fallback: boolean): boolean {
    if (this.missing) return fallback
    if (typeof this.value !== 'boolean') this.fail('expected true or false')
    return this.value
  }

  duration(fallback: number, limits: { min?: number; max?: number } = {}): number {
    if (this.missing) return fallback
    const ms = typeof this.value === 'string' ? parseDuration(this.value) : undefined
    if (ms === undefined) this.fail('expected a duration like "15m"')
    if (limits.min !== undefined && ms < limits.min) this.fail(`must be at least ${limits.min / 1000}s`)
    if (limits.max !== undefined && ms > limits.max) this.fail(`must be at most ${limits.max / 1000}s`)
    return ms
  }

  list(): ConfigNode[] {
    if (this.missing) return []
    if (!Array.isArray(this.value)) this.fail('expected a list')
    return this.value.map((item, index) => new ConfigNode(this.file, item, `${this.path}[${index}]`))
  }

  stringList(): string[] {
    return this.list().map((item) => item.string())
  }

  entries(): Array<[string, ConfigNode]> {
    if (this.missing) return []
    return Object.entries(this.mapping()).map(([key, value]) => [key, new ConfigNode(this.file, value, `${this.path}.${key}`)])
  }
}
