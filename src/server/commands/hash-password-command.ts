import type { Command } from 'commander'
import { JitsshError } from '../../shared/errors.js'
import { hashPassword } from '../identity/password-hash.js'
import { action, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

export type HashPasswordOptions = Record<string, never>

export function registerHashPassword(program: Command, cli: CliRun, run: CommandRun<HashPasswordOptions> = hashPasswordCommand): void {
  program
    .command('hash-password')
    .description('read a password from stdin and print its scrypt hash (scrypt$N$r$p$salt$hash)')
    .action(() => action(cli, run)({}))
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  return Buffer.concat(chunks).toString('utf8')
}

export async function hashPasswordCommand(io: ServerCliIo, _options: HashPasswordOptions = {}): Promise<number> {
  if ((io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write('password (input is echoed; end with Enter and Ctrl-D): ')
  const password = (await readAll(io.stdin)).replace(/\r?\n$/, '')
  if (password.length < 8) throw new JitsshError('ERR_USAGE', 'the password must have at least 8 characters (read from stdin)')
  io.stdout.write(`${await hashPassword(password)}\n`)
  return 0
}
