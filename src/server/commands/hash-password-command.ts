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

/** A terminal's stdin: what reading without echo needs. */
type TtyInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }

/**
 * One line from a terminal without echoing it: raw mode, so the characters never reach the screen (and so
 * never the scrollback or a screen recording). Backspace edits; Enter ends; Ctrl-C or Ctrl-D aborts.
 */
export function readHidden(stdin: TtyInput, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  stderr.write(prompt)
  stdin.setRawMode?.(true)
  stdin.resume()
  return new Promise((resolve, reject) => {
    let text = ''
    const finish = (error?: Error): void => {
      stdin.off('data', onData)
      stdin.setRawMode?.(false)
      stdin.pause()
      stderr.write('\n')
      if (error) reject(error)
      else resolve(text)
    }
    const onData = (chunk: Buffer | string): void => {
      for (const character of String(chunk)) {
        if (character === '\r' || character === '\n') return finish()
        if (character === '\u0003' || character === '\u0004') return finish(new JitsshError('ERR_INTERRUPTED', 'interrupted'))
        if (character === '\u007f' || character === '\b') text = text.slice(0, -1)
        else if (character >= ' ') text += character
      }
    }
    stdin.on('data', onData)
  })
}

export async function hashPasswordCommand(io: ServerCliIo, _options: HashPasswordOptions = {}): Promise<number> {
  const stdin = io.stdin as TtyInput
  let password: string
  if (stdin.isTTY && stdin.setRawMode) {
    password = await readHidden(stdin, io.stderr, 'password (not shown): ')
    if (password.length >= 8 && (await readHidden(stdin, io.stderr, 'again: ')) !== password) throw new JitsshError('ERR_USAGE', 'the two passwords differ; nothing was hashed')
  } else {
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '')
  }
  if (password.length < 8) throw new JitsshError('ERR_USAGE', 'the password must have at least 8 characters (read from stdin)')
  io.stdout.write(`${await hashPassword(password)}\n`)
  return 0
}
