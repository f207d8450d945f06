// --hostname values: checked by src/ssh/config.ts parseHostSpec before they touch a path or a config line.
import { JitsshError } from '../shared/errors.js'
import { parseHostSpec, type HostSpec } from '../ssh/config.js'
import { normalizeServerUrl } from '../client/auth/server-url.js'

export function parseHostArg(input: string | undefined, options: { allowPattern?: boolean; allowPort?: boolean } = {}): HostSpec {
  if (input === undefined || input === '') {
    throw new JitsshError('ERR_USAGE', 'missing --hostname', { hint: 'e.g. --hostname vm.example.com' })
  }
  try {
    return parseHostSpec(input, options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new JitsshError('ERR_INVALID_HOSTNAME', `--hostname: ${message.replace(/[\x00-\x1f\x7f]/g, '?')}`, { cause: error })
  }
}

export function parseServerArg(input: string | undefined): string | undefined {
  return input === undefined ? undefined : normalizeServerUrl(input)
}

export function parsePortArg(input: string | undefined): number {
  if (input === undefined) return 22
  if (!/^\d{1,5}$/.test(input) || Number(input) < 1 || Number(input) > 65535) {
    throw new JitsshError('ERR_USAGE', `invalid --port: ${JSON.stringify(input).slice(0, 40)} (1-65535)`)
  }
  return Number(input)
}
