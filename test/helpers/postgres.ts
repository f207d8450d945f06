/**
 * A private PostgreSQL server for tests: initdb into a temp dir, `-A trust` (pg_hba allows only the unix
 * socket and loopback), listening on 127.0.0.1 and a free port, fsync on. Start one per test file:
 *
 *   const pg = await startPostgres()            // ~1 s: initdb + start + CREATE DATABASE
 *   const url = pg.url                          // postgres://postgres@127.0.0.1:<port>/jitssh
 *   const other = await pg.createDatabase()     // a fresh, empty database on the same server
 *   await pg.stop()                             // SIGINT (fast shutdown) by PID, waits, removes the dir
 *
 * As root, the data dir belongs to the `postgres` user and the server runs as it (PostgreSQL refuses root).
 * The binaries come from JITSSH_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian), else
 * PATH. `postgresAvailable()` says whether they are there. If the test process exits without stop(), the
 * server is sent SIGQUIT (immediate shutdown) on the way out.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import pg from 'pg'

export interface TestPostgres {
  /** The database created at start. */
  url: string
  port: number
  /** Creates another empty database on the same server; returns its URL. */
  createDatabase(name?: string): Promise<string>
  stop(): Promise<void>
}

function postgresBinDir(): string | undefined {
  const has = (dir: string): boolean => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))
  if (process.env.JITSSH_PG_BIN) return has(process.env.JITSSH_PG_BIN) ? process.env.JITSSH_PG_BIN : undefined
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
    for (const version of versions) if (has(join(debian, version, 'bin'))) return join(debian, version, 'bin')
  }
  return (process.env.PATH ?? '').split(delimiter).find((dir) => dir !== '' && has(dir))
}

export function postgresAvailable(): boolean {
  return postgresBinDir() !== undefined && (process.getuid?.() !== 0 || postgresUser() !== undefined)
}

/** uid and gid of the `postgres` account (to drop root), or undefined. */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined
  } catch {
    return undefined
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Runs a PostgreSQL binary (as `postgres` when we are root) to completion; rejects with its output. */
async function runToEnd(command: string, args: string[], owner: { uid: number; gid: number } | undefined, cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], ...owner })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`${command} exited with ${code}:\n${output}`)
}

/** Starts `postgres` and resolves once it accepts connections; rejects with its log if it exits first. */
function startServer(bin: string, dataDir: string, socketDir: string, port: number, owner: { uid: number; gid: number } | undefined): Promise<ChildProcess> {
  const child = spawn(join(bin, 'postgres'), [
    '-D', dataDir, '-p', String(port), '-k', socketDir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'max_connections=100', '-c', 'shared_buffers=32MB',
  ], { cwd: dataDir, stdio: ['ignore', 'ignore', 'pipe'], ...owner })
  return new Promise((resolve, reject) => {
    let log = ''
    const onData = (chunk: Buffer): void => {
      // Keep draining stderr for the server's whole life (a full pipe would stall it); remember the start only.
      if (log.length < 64 * 1024) log += chunk.toString()
      if (/database system is ready to accept connections/.test(log)) {
        child.off('exit', onExit)
        resolve(child)
      }
    }
    const onExit = (code: number | null): void => reject(new Error(`postgres exited (${code}) before it was ready:\n${log}`))
    child.stderr!.on('data', onData)
    child.once('exit', onExit)
  })
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL binaries not found (install postgresql, or set JITSSH_PG_BIN)')
  const owner = process.getuid?.() === 0 ? postgresUser() : undefined
  if (process.getuid?.() === 0 && !owner) throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as')
  const dir = mkdtempSync(join(tmpdir(), 'jitssh-pg-'))
  const dataDir = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  mkdirSync(socketDir)
  if (owner) for (const path of [dir, socketDir]) chownSync(path, owner.uid, owner.gid)

  let child: ChildProcess | undefined
  const backstop = (): void => void (child?.pid && child.exitCode === null && process.kill(child.pid, 'SIGQUIT'))
  try {
    // -N: initdb skips its fsyncs (a throwaway cluster); the server itself runs with fsync=on.
    await runToEnd(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '-N'], owner, dir)
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      try {
        child = await startServer(bin, dataDir, socketDir, port, owner)
        process.once('exit', backstop)
        return await finishStart(child, port, dir, backstop)
      } catch (error) {
        // Another process may have taken the port between freePort() and the bind: try another one.
        if (attempt >= 3 || !/could not (bind|create listen socket)/i.test(String(error))) throw error
      }
    }
  } catch (error) {
    backstop()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

async function finishStart(child: ChildProcess, port: number, dir: string, backstop: () => void): Promise<TestPostgres> {
  const base = `postgres://postgres@127.0.0.1:${port}`
  const createDatabase = async (name = `jitssh_${randomBytes(4).toString('hex')}`): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
    const admin = new pg.Client({ connectionString: `${base}/postgres` })
    await admin.connect()
    try {
      await admin.query(`CREATE DATABASE ${name}`)
    } finally {
      await admin.end()
    }
    return `${base}/${name}`
  }
  const url = await createDatabase('jitssh')
  return {
    url,
    port,
    createDatabase,
    async stop() {
      process.off('exit', backstop)
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGINT') // fast shutdown: disconnects clients, checkpoints, exits
        const timer = setTimeout(() => child.kill('SIGQUIT'), 10_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
