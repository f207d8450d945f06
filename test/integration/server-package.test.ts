// The installable `jitssh-server` package (issue 16, "Install"): the tarball from the build, `npm install -g`
// into a temp prefix, then the installed `jitssh-server --version`, `init DIR`, `check` and `start`, answering
// /healthz and discovery and serving its browser bundles. It carries the server's own dependencies and none of the client's.
//
// better-sqlite3 is installed with its install script skipped and given the native module the repository
// already built: in the field its install script fetches a prebuilt binary from its releases, which this
// machine's network cannot reach, and compiling SQLite here would take minutes. Everything else is as npm puts it.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/cli.js'
import { ensurePackages, installedPackages, npmInstallGlobal, packageVersion } from '../helpers/packages.js'
import { runTool } from '../helpers/sshd.js'

let work: string
let prefix: string
let bin: string
let server: ChildProcess | undefined

beforeAll(async () => {
  const { server: tarball } = await ensurePackages()
  work = mkdtempSync(join(tmpdir(), 'jitssh-server-install-'))
  prefix = join(work, 'prefix')
  mkdirSync(prefix)
  await npmInstallGlobal(tarball, prefix, ['--ignore-scripts'])
  const installed = join(prefix, 'lib', 'node_modules', 'jitssh-server', 'node_modules', 'better-sqlite3', 'build', 'Release')
  mkdirSync(installed, { recursive: true })
  copyFileSync(join(REPO_ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), join(installed, 'better_sqlite3.node'))
  bin = join(prefix, 'bin', 'jitssh-server')
}, 300_000)
afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGKILL')
    await once(server, 'exit')
  }
  if (work) rmSync(work, { recursive: true, force: true })
})

const run = (args: string[]) => runTool(bin, args, { timeoutMs: 60_000, env: { PATH: '/usr/local/bin:/usr/bin:/bin' } })

describe('in a clone of the repository', () => {
  it('npx jitssh-server and npx jitssh run the checkout (after npm run build)', async () => {
    const version = await packageVersion()
    for (const program of ['jitssh-server', 'jitssh']) {
      const r = await runTool('npx', ['--no-install', program, '--version'], { timeoutMs: 60_000, env: { npm_config_update_notifier: 'false' } })
      expect(r, program).toMatchObject({ code: 0, stdout: `${version}\n` })
    }
  })
})

describe('the jitssh-server npm package, installed with npm install -g', { timeout: 120_000 }, () => {
  it('carries the server dependencies and none of the client-only ones', async () => {
    const names = [...(await installedPackages(join(prefix, 'lib', 'node_modules'))).keys()]
    for (const name of ['jitssh-server', 'fastify', 'better-sqlite3', 'pg', 'yaml', 'jose', 'openid-client', 'commander']) expect(names, name).toContain(name)
    for (const name of ['jitssh', '@napi-rs/keyring', 'open', 'ssh-config', 'undici']) expect(names, name).not.toContain(name)
  })

  it('--version, init DIR, check and start: the server answers', async () => {
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: `${await packageVersion()}\n` })
    const dir = join(work, 'etc-jitssh')
    const init = await run(['init', dir])
    expect(init.code, init.stderr).toBe(0)
    const configPath = join(dir, 'config.yaml')
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(/^listen: .*$/m, 'listen: 127.0.0.1:0'))
    const check = await run(['check', '--config', configPath])
    expect(check.code, check.stderr).toBe(0)

    server = spawn(bin, ['start', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/local/bin:/usr/bin:/bin' } })
    let log = ''
    const url = await new Promise<string>((resolve, reject) => {
      server!.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        log += chunk
        const match = /jitssh-server listening.*"url":"(http:\/\/[^"]+)"|"url":"(http:\/\/[^"]+)".*jitssh-server listening/.exec(log)
        if (match) resolve((match[1] ?? match[2]) as string)
      })
      server!.once('exit', (code) => reject(new Error(`jitssh-server start exited (${code}) before listening:\n${log}`)))
    })
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' })
    const discovery = (await (await fetch(`${url}/.well-known/jitssh`)).json()) as { token_endpoint: string }
    expect(discovery.token_endpoint).toMatch(/\/token$/)
    // The browser bundles of the live pages came with the package, and the server serves them.
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'jitssh-server', 'dist', 'web', 'manifest.json'), 'utf8')) as { files: string[] }
    expect(manifest.files.length).toBeGreaterThan(0)
    for (const file of manifest.files) expect((await fetch(`${url}/assets/${file}`)).status, file).toBe(200)
    const exited = once(server, 'exit')
    server.kill('SIGTERM')
    expect((await exited)[0]).toBe(0)
  })
})
