// The ssh-gen fast path, as ssh runs it: bin/jitssh.js in a child process. With a valid certificate on disk
// it exits 0 having loaded only a handful of our own files: no commander, undici, ws, sshpk (nothing from
// node_modules at all). A loader hook in the child records every module it resolves.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN_JITSSH, REPO_ROOT, ensureBuilt, makeTempHome, removeTempHome } from '../helpers/cli.js'
import { createRequire } from 'node:module'
import { hasFreshCertificate } from '../../src/cli/entry.js'

/** The Match exec command `jitssh ssh-config` writes: CommonJS (src/cli/fast-path.ts bundled into dist/fast-path.cjs), so node starts it as fast as `node -e 0`. */
const BIN_SSH_GEN = join(REPO_ROOT, 'bin', 'jitssh-ssh-gen.cjs')
const launcher = createRequire(import.meta.url)(BIN_SSH_GEN) as { hasFreshCertificate: typeof hasFreshCertificate }

let home: string
let recorder: string

/** A certificate from ssh-keygen (the oracle), valid for `validity` (ssh-keygen -V syntax). */
function makeCertificate(dir: string, host: string, validity: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, host)])
  execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'test', '-n', 'alice', '-V', validity, join(dir, `${host}.pub`)])
}

beforeAll(async () => {
  await ensureBuilt()
  home = await makeTempHome()
  // --import this: registers a resolve hook that appends every resolved URL to $LOAD_LOG, and at exit
  // appends the CommonJS modules in require.cache.
  recorder = join(home, 'record-loads.mjs')
  const hooks = join(home, 'record-hooks.mjs')
  await writeFile(hooks, `import { appendFileSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.LOAD_LOG, result.url + '\\n')
  return result
}
`)
  await writeFile(recorder, `import { register, createRequire } from 'node:module'
import { appendFileSync } from 'node:fs'
register(${JSON.stringify(pathToFileURL(hooks).href)})
process.on('exit', () => {
  const cache = createRequire(import.meta.url)('module')._cache
  for (const file of Object.keys(cache)) appendFileSync(process.env.LOAD_LOG, 'cjs:' + file + '\\n')
})
`)
}, 120_000)
afterAll(async () => {
  await removeTempHome(home)
})

function runRecorded(args: string[], env: Record<string, string>, log: string, bin = BIN_JITSSH) {
  const result = spawnSync(process.execPath, ['--import', recorder, bin, ...args], {
    env: { PATH: process.env.PATH, HOME: home, JITSSH_CREDENTIAL_STORE: 'file', LOAD_LOG: log, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  })
  return { code: result.status, stderr: result.stderr.toString() }
}

describe('ssh-gen fast path', () => {
  it('exits 0 with a valid certificate and loads nothing heavy', async () => {
    const jitsshHome = join(home, 'fast')
    await mkdir(join(jitsshHome, 'certs'), { recursive: true })
    makeCertificate(join(jitsshHome, 'certs'), 'vm.example.com', '-1m:+1h')
    const log = join(home, 'fast.log')
    await writeFile(log, '')
    const r = runRecorded(['ssh-gen', '--server', 'https://access.example.com', '--hostname', 'VM.example.com'], { JITSSH_HOME: jitsshHome }, log)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    const loaded = (await readFile(log, 'utf8')).trim().split('\n')
    // The hook logs every resolution; a module two others import shows twice but loads once.
    const ours = new Set(loaded.filter((u) => u.startsWith('file://') && !u.includes('/record-loads.mjs') && !u.includes('/record-hooks.mjs')))
    expect([...ours].map((u) => u.replace(pathToFileURL(REPO_ROOT).href, '')).sort()).toEqual([
      '/bin/jitssh.js',
      '/dist/cli/entry.js',
      '/dist/cli/fast-path.js',
      '/dist/client/env.js',
      '/dist/client/files/cert-freshness.js',
      '/dist/client/files/paths.js',
      '/dist/ssh/cert-validity.js',
      '/dist/ssh/errors.js',
      '/dist/ssh/host-spec.js',
    ])
    for (const heavy of ['node_modules', 'commander', 'undici', 'sshpk', '/ws/', 'dist/cli/main.js']) {
      expect(loaded.filter((u) => u.includes(heavy)), heavy).toEqual([])
    }
  })

  it('the recorder sees the heavy modules on the slow path (it would catch a regression)', async () => {
    const log = join(home, 'slow.log')
    await writeFile(log, '')
    const r = runRecorded(['ssh-gen', '--hostname', 'vm.example.com'], { JITSSH_HOME: join(home, 'empty') }, log)
    expect(r.code).toBe(4) // no server configured
    const loaded = await readFile(log, 'utf8')
    expect(loaded).toContain('/dist/cli/main.js')
    expect(loaded).toContain('/node_modules/commander/')
  })
})

describe('hasFreshCertificate (the fast path check)', () => {
  it('is false for an expiring, expired or keyless certificate and for anything but --hostname/--server', async () => {
    const dir = join(home, 'check')
    await mkdir(join(dir, 'certs'), { recursive: true })
    makeCertificate(join(dir, 'certs'), 'vm.example.com', '-1m:+30s')
    const env = { JITSSH_HOME: dir }
    const now = Date.now()
    expect(hasFreshCertificate(['--hostname', 'vm.example.com'], env, home, now)).toBe(false) // inside the 60 s margin
    expect(hasFreshCertificate(['--hostname', 'vm.example.com'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now)).toBe(true)
    expect(hasFreshCertificate(['--hostname=vm.example.com'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now)).toBe(true)
    expect(hasFreshCertificate(['--hostname', 'vm.example.com'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now + 60_000)).toBe(false)
    expect(hasFreshCertificate(['--hostname', 'vm.example.com', '--debug'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now)).toBe(false)
    expect(hasFreshCertificate(['--hostname'], env, home, now)).toBe(false)
    expect(hasFreshCertificate(['--hostname', '../certs/vm.example.com'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now)).toBe(false)
    execFileSync('rm', [join(dir, 'certs', 'vm.example.com')])
    expect(hasFreshCertificate(['--hostname', 'vm.example.com'], { ...env, JITSSH_CERT_MARGIN: '5' }, home, now)).toBe(false)
  })
})

describe('bin/jitssh-ssh-gen.cjs (the Match exec command of the written ssh config)', () => {
  it('exits 0 with a valid certificate, having loaded only itself and the bundled fast path: no ES module, no node_modules', async () => {
    const jitsshHome = join(home, 'fast-cjs')
    await mkdir(join(jitsshHome, 'certs'), { recursive: true })
    makeCertificate(join(jitsshHome, 'certs'), 'vm.example.com', '-1m:+1h')
    const log = join(home, 'fast-cjs.log')
    await writeFile(log, '')
    const r = runRecorded(['ssh-gen', '--server', 'https://access.example.com', '--hostname', 'VM.example.com'], { JITSSH_HOME: jitsshHome }, log, BIN_SSH_GEN)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    const loaded = (await readFile(log, 'utf8')).trim().split('\n')
    const ours = loaded.filter((u) => (u.startsWith('file://') || u.startsWith('cjs:')) && !u.includes('/record-loads.mjs') && !u.includes('/record-hooks.mjs'))
    // (--import runs the entry through the ESM resolver: it shows once as a URL, once as a CommonJS module.)
    const files = [...new Set(ours.map((u) => u.replace(/^cjs:/, '').replace(pathToFileURL(REPO_ROOT).href, REPO_ROOT)))]
    expect(files.map((file) => file.replace(REPO_ROOT, '')).sort()).toEqual(['/bin/jitssh-ssh-gen.cjs', '/dist/fast-path.cjs'])
  })

  it('otherwise runs the full jitssh ssh-gen: same exit code and message', async () => {
    const log = join(home, 'slow-cjs.log')
    await writeFile(log, '')
    const args = ['ssh-gen', '--hostname', 'vm.example.com']
    const viaLauncher = runRecorded(args, { JITSSH_HOME: join(home, 'empty') }, log, BIN_SSH_GEN)
    const direct = runRecorded(args, { JITSSH_HOME: join(home, 'empty') }, join(home, 'slow-direct.log'))
    expect(viaLauncher.code).toBe(4) // no server configured
    expect(viaLauncher).toEqual(direct)
    expect(await readFile(log, 'utf8')).toContain('/dist/cli/main.js')
  })

  it('answers exactly like the ES-module build of the same check (src/cli/fast-path.ts)', async () => {
    const dir = join(home, 'parity')
    await mkdir(join(dir, 'certs'), { recursive: true })
    makeCertificate(join(dir, 'certs'), 'vm.example.com', '-1m:+30s')
    await mkdir(join(dir, 'other'))
    makeCertificate(join(dir, 'other'), 'db.example.com', '-1m:+1h')
    for (const file of ['db.example.com', 'db.example.com-cert.pub']) await rename(join(dir, 'other', file), join(dir, 'certs', file))
    await writeFile(join(dir, 'certs', 'garbage.example.com-cert.pub'), 'ssh-ed25519-cert-v01@openssh.com AAAA\n')
    await writeFile(join(dir, 'certs', 'garbage.example.com'), 'key')
    const now = Date.now()
    const hosts = ['vm.example.com', 'VM.Example.COM', 'db.example.com', 'garbage.example.com', 'none.example.com', '../certs/db.example.com', 'db.example.com.', '', '*.example.com']
    const argLists = hosts.flatMap((host) => [['--hostname', host], [`--hostname=${host}`], ['--server', 'https://a.example.com', '--hostname', host], ['--hostname', host, '--debug'], ['--hostname', host, '--hostname', host]])
    argLists.push([], ['--hostname'], ['--server', 'https://a.example.com'])
    const envs = [{ JITSSH_HOME: dir }, { JITSSH_HOME: dir, JITSSH_CERT_MARGIN: '5' }, { JITSSH_HOME: dir, JITSSH_CERT_MARGIN: 'x' }, { JITSSH_HOME: '' }]
    let fresh = 0
    for (const args of argLists) {
      for (const env of envs) {
        for (const at of [now, now + 20 * 60_000]) {
          const expected = hasFreshCertificate(args, env, home, at)
          expect(launcher.hasFreshCertificate(args, env, home, at), `${JSON.stringify(args)} ${JSON.stringify(env)} +${at - now}`).toBe(expected)
          if (expected) fresh++
        }
      }
    }
    expect(fresh).toBeGreaterThan(10) // the matrix has both answers
  })
})
