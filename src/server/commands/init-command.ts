import type { Command } from 'commander'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import { generateAuditKeys } from '../audit/audit-keys.js'
import { generateServerKeys } from '../ca/server-keys.js'
import { hashPassword } from '../identity/password-hash.js'
import { action, type CliRun, type CommandRun, type ServerCliIo } from './io.js'
import { renderStarterConfig } from './starter-config.js'

export interface InitOptions {
  dir: string
  user: string
  email: string
}

export function registerInit(program: Command, cli: CliRun, run: CommandRun<InitOptions> = initCommand): void {
  program
    .command('init')
    .description('write a starter config.yaml and new CA, token-signing and audit keys into DIR')
    .argument('[dir]', 'directory for config.yaml and keys/', '.')
    .option('--user <name>', 'the first local user', 'admin')
    .option('--email <email>', "that user's email", 'admin@example.com')
    .action((dir: string, options: Omit<InitOptions, 'dir'>) => action(cli, run)({ dir, ...options }))
}

export async function initCommand(io: ServerCliIo, options: InitOptions): Promise<number> {
  const root = resolve(options.dir)
  const configPath = join(root, 'config.yaml')
  if (existsSync(configPath)) throw new JitsshError('ERR_CONFIG_CONFLICT', `${configPath} already exists: refusing to overwrite it`)
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const written = [...generateServerKeys(join(root, 'keys')), ...generateAuditKeys(join(root, 'keys'))]
  const password = randomBytes(15).toString('base64url')
  const passwordHash = await hashPassword(password)
  writeFileSync(configPath, renderStarterConfig({ username: options.user, email: options.email, passwordHash }), { mode: 0o600, flag: 'wx' })
  io.stderr.write(`wrote ${configPath}\n${written.map((path) => `wrote ${path}\n`).join('')}`)
  io.stderr.write(`local user "${options.user}" has the password: ${password}\n(shown once; change it with jitssh-server hash-password)\n`)
  io.stderr.write(`next: edit the policy and targets, then run: jitssh-server start --config ${configPath}\n`)
  return 0
}
