import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import { createServer } from '../app.js'
import { verifyAuditChain } from '../audit/audit-log.js'
import { generateServerKeys } from '../ca/server-keys.js'
import { loadConfig } from '../config/load-config.js'
import { hashPassword } from '../identity/password-hash.js'
import { openStore } from '../store/open-store.js'
import { renderStarterConfig } from './starter-config.js'

/** Streams and signals a command uses; tests pass buffers. */
export interface ServerCliIo {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>
}

export async function initCommand(io: ServerCliIo, dir: string, options: { user: string; email: string }): Promise<number> {
  const root = resolve(dir)
  const configPath = join(root, 'config.yaml')
  if (existsSync(configPath)) throw new JitsshError('ERR_CONFIG_CONFLICT', `${configPath} already exists: refusing to overwrite it`)
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const written = generateServerKeys(join(root, 'keys'))
  const password = randomBytes(15).toString('base64url')
  const passwordHash = await hashPassword(password)
  writeFileSync(configPath, renderStarterConfig({ username: options.user, email: options.email, passwordHash }), { mode: 0o600, flag: 'wx' })
  io.stderr.write(`wrote ${configPath}\n${written.map((path) => `wrote ${path}\n`).join('')}`)
  io.stderr.write(`local user "${options.user}" has the password: ${password}\n(shown once; change it with jitssh-server hash-password)\n`)
  io.stderr.write(`next: edit the policy and targets, then run: jitssh-server start --config ${configPath}\n`)
  return 0
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)))
  return Buffer.concat(chunks).toString('utf8')
}

export async function hashPasswordCommand(io: ServerCliIo): Promise<number> {
  if ((io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write('password (input is echoed; end with Enter and Ctrl-D): ')
  const password = (await readAll(io.stdin)).replace(/\r?\n$/, '')
  if (password.length < 8) throw new JitsshError('ERR_USAGE', 'the password must have at least 8 characters (read from stdin)')
  io.stdout.write(`${await hashPassword(password)}\n`)
  return 0
}

export async function checkCommand(io: ServerCliIo, configPath: string): Promise<number> {
  const config = loadConfig(configPath)
  const server = await createServer(config, { logStream: io.stderr })
  await server.close()
  io.stderr.write(`${configPath}: ok (${config.policy.length} policy rules, ${config.targets.size} targets)\n`)
  return 0
}

export async function startCommand(io: ServerCliIo, configPath: string): Promise<number> {
  const config = loadConfig(configPath)
  const server = await createServer(config, { logStream: io.stderr })
  await server.listen()
  const stop =
    io.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
  await stop
  await server.close()
  return 0
}

export async function auditVerifyCommand(io: ServerCliIo, configPath: string): Promise<number> {
  const config = loadConfig(configPath)
  const store = await openStore(config.storage, { listenForRevocations: false })
  try {
    const result = await verifyAuditChain(store)
    if (result.problem) {
      io.stdout.write(`audit chain BROKEN at seq ${result.problem.seq}: ${result.problem.problem}\n`)
      io.stdout.write(`(${result.events} events before it verified)\n`)
      return 1
    }
    io.stdout.write(`audit chain ok: ${result.events} events verified\n`)
    return 0
  } finally {
    await store.close()
  }
}
