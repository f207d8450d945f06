// Installing the CLI as a person would (issue 16, "Install"), with real parts: the `jitssh` npm tarball
// from the build, `npm install -g` into a temp prefix, and the standalone executable; each logs in through
// headless Chromium, writes its ssh config block and carries a real `ssh` through the bastion to a real sshd.
// The block runs the launcher JITSSH_HOME/bin/jitssh: moving the install away falls back to the jitssh on
// PATH, and without one ssh fails with one line naming the repair, which `ssh-config --write` then does,
// also for an older block that still runs a node that is gone.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import Module from 'node:module'
import { join } from 'node:path'
import { constants as vmConstants, Script } from 'node:vm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launcherProblems, launcherTargets } from '../../src/client/ssh-config/launcher.js'
import { findManagedBlocks, renderManagedBlock, upsertManagedBlock } from '../../src/ssh/config.js'
import { launchChromium } from '../helpers/chromium.js'
import { runTool } from '../helpers/sshd.js'
import { ensurePackages, ensureStandalone, installedPackages, npmInstallGlobal, packageVersion } from '../helpers/packages.js'
import { DENIED_HOST, startStack, VM_HOST, type Stack } from '../helpers/stack.js'

const OTHER = DENIED_HOST // a second host, opened to alice here, for a block in the old (pre-launcher) form
const BASE_PATH = '/usr/local/bin:/usr/bin:/bin'

let browser: Browser
let work: string
let version: string

beforeAll(async () => {
  ;[browser] = await Promise.all([launchChromium(), ensurePackages().then(() => ensureStandalone())])
  work = mkdtempSync(join(tmpdir(), 'jitssh-install-'))
  version = await packageVersion()
}, 300_000)
afterAll(async () => {
  await browser?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

async function stackRunning(cli: string[]): Promise<Stack> {
  const login = userInfo().username
  return startStack({ cli, policy: [{ name: 'e2e', groups: ['dev'], hosts: [VM_HOST, OTHER], principals: [login], max_ttl: '10m' }] })
}

function blockText(stack: Stack, host: string): string {
  const text = readFileSync(stack.sshConfigPath, 'utf8')
  const block = findManagedBlocks(text).find((found) => found.hostPattern === host)
  if (block === undefined) throw new Error(`no jitssh block for ${host} in:\n${text}`)
  return text.split('\n').slice(block.startLine, block.endLine + 1).join('\n')
}

/** `jitssh --version`, login in Chromium, `ssh-config --write`, `ssh vm true`: the first day in four commands. */
async function firstDay(stack: Stack): Promise<void> {
  const shown = await stack.jitssh(['--version'])
  expect(shown, shown.stderr).toMatchObject({ code: 0, stdout: `${version}\n` })
  const login = await stack.loginWithBrowser(browser)
  expect(login.code, login.stderr).toBe(0)
  const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])
  expect(write.code, write.stderr).toBe(0)
  const ssh = await stack.ssh([VM_HOST, 'echo', 'through-jitssh'])
  expect(ssh, ssh.stderr).toMatchObject({ code: 0, stdout: 'through-jitssh\n' })
}

describe('the npm package: npm install -g, then the first day', { timeout: 180_000 }, () => {
  let stack: Stack
  let prefix: string
  let moved: string

  beforeAll(async () => {
    const { cli } = await ensurePackages()
    prefix = join(work, 'prefix')
    moved = join(work, 'moved')
    mkdirSync(prefix)
    await npmInstallGlobal(cli, prefix)
    stack = await stackRunning([join(prefix, 'bin', 'jitssh')])
  }, 120_000)
  afterAll(async () => {
    await stack?.stop()
  })

  it('installs the CLI alone: no server package, nothing compiled, only the optional prebuilt keychain binding', async () => {
    const packages = await installedPackages(join(prefix, 'lib', 'node_modules'))
    const names = [...packages.keys()].sort()
    expect(names).toContain('jitssh')
    const others = names.filter((name) => name !== 'jitssh')
    expect(others.every((name) => name === '@napi-rs/keyring' || name.startsWith('@napi-rs/keyring-')), others.join(' ')).toBe(true)
    for (const server of ['better-sqlite3', 'pg', 'fastify', 'yaml', 'oidc-provider']) expect(names).not.toContain(server)
    for (const [name, manifest] of packages) {
      const scripts = manifest.scripts ?? {}
      expect([name, scripts.preinstall, scripts.install, scripts.postinstall, manifest.gypfile]).toEqual([name, undefined, undefined, undefined, undefined])
    }
  })

  it("carries V8's code cache of the bundled CLI for this Node, and this Node accepts it (the CLI's start-up cost)", () => {
    const bundle = join(prefix, 'lib', 'node_modules', 'jitssh', 'dist', 'cli', 'jitssh.cjs')
    const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData: readFileSync(`${bundle}.cache`), importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER })
    expect(script.cachedDataRejected).toBe(false)
  })

  it('logs in, writes the block, and ssh goes through the bastion', async () => {
    await firstDay(stack)
    const block = blockText(stack, VM_HOST)
    const launcher = join(stack.home, '.jitssh', 'bin', 'jitssh')
    expect(block).toContain(`ProxyCommand '${launcher}' ssh --server ${stack.server.url}`)
    expect(launcherTargets(readFileSync(launcher, 'utf8'))).toEqual([process.execPath, join(prefix, 'lib', 'node_modules', 'jitssh', 'bin', 'jitssh.js')])
    expect(launcherProblems(block, { platform: process.platform, env: { PATH: BASE_PATH } })).toEqual([])
  })

  it('survives the install moving: the jitssh on PATH, else one line naming the repair, which ssh-config --write does', async () => {
    // An older block for another host that runs node + a script directly, and a script that is gone.
    const oldBlock = renderManagedBlock({
      hostPattern: OTHER,
      program: [process.execPath, join(work, 'gone', 'bin', 'jitssh.js')],
      execProgram: [process.execPath, join(work, 'gone', 'bin', 'jitssh-ssh-gen.cjs')],
      server: stack.server.url,
      certsDir: join(stack.home, '.jitssh', 'certs'),
      knownHostsFile: join(stack.home, '.jitssh', 'known_hosts'),
      platform: 'posix',
    })
    writeFileSync(stack.sshConfigPath, upsertManagedBlock(readFileSync(stack.sshConfigPath, 'utf8'), oldBlock, OTHER))
    expect(launcherProblems(blockText(stack, OTHER), { platform: process.platform, env: { PATH: BASE_PATH } }).map((p) => p.code)).toEqual(['ERR_PROGRAM_MISSING'])
    const broken = await stack.ssh([OTHER, 'true'])
    expect(broken.code).toBe(255)

    // The install moves (a reinstall under another Node, say): the launcher's recorded script is gone.
    renameSync(prefix, moved)
    const viaPath = await stack.ssh([VM_HOST, 'echo', 'via-path'], { env: { PATH: `${join(moved, 'bin')}:${BASE_PATH}` } })
    expect(viaPath, viaPath.stderr).toMatchObject({ code: 0, stdout: 'via-path\n' })
    expect(launcherProblems(blockText(stack, VM_HOST), { platform: process.platform, env: { PATH: `${join(moved, 'bin')}:${BASE_PATH}` } }).map((p) => p.code)).toEqual(['WARN_LAUNCHER_FALLBACK'])

    const nowhere = await stack.ssh([VM_HOST, 'true'], { env: { PATH: BASE_PATH } })
    expect(nowhere.code).toBe(255)
    const ours = nowhere.stderr.split('\n').filter((line) => line.startsWith('jitssh:'))
    expect(ours[0]).toBe(
      `jitssh: the jitssh CLI moved or was removed (${join(prefix, 'lib', 'node_modules', 'jitssh', 'bin', 'jitssh.js')} is gone and no jitssh is on PATH; reinstall it, then run: jitssh ssh-config --hostname ${VM_HOST} --write to repair)`,
    )
    expect(launcherProblems(blockText(stack, VM_HOST), { platform: process.platform, env: { PATH: BASE_PATH } }).map((p) => p.code)).toEqual(['ERR_LAUNCHER_STALE'])

    // The repair, from the new place: the launcher records it, and the old block runs the launcher too.
    const repair = await runMoved(stack, moved, ['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stderr).toContain(`Repaired the jitssh block for ${OTHER}`)
    for (const host of [VM_HOST, OTHER]) {
      expect(launcherProblems(blockText(stack, host), { platform: process.platform, env: { PATH: BASE_PATH } }), host).toEqual([])
      const ssh = await stack.ssh([host, 'echo', 'repaired'], { env: { PATH: BASE_PATH } })
      expect(ssh, `${host}: ${ssh.stderr}`).toMatchObject({ code: 0, stdout: 'repaired\n' })
    }
  })
})

/** The moved install's jitssh, as the user (the stack's runner is pinned to the old path). */
function runMoved(stack: Stack, moved: string, args: string[]) {
  return runTool(join(moved, 'bin', 'jitssh'), args, { timeoutMs: 60_000, env: { ...stack.env, PATH: BASE_PATH, SSH_AUTH_SOCK: '', DISPLAY: '' } })
}

describe('the standalone executable: no Node needed', { timeout: 180_000 }, () => {
  let stack: Stack
  let executable: string

  beforeAll(async () => {
    // Where a person would put it, outside the repository; run with a PATH that has no node on it.
    executable = join(work, 'standalone', 'jitssh')
    mkdirSync(join(work, 'standalone'))
    copyFileSync(await ensureStandalone(), executable)
    chmodSync(executable, 0o755)
    stack = await stackRunning([executable])
  }, 120_000)
  afterAll(async () => {
    await stack?.stop()
  })

  it('logs in, writes the block, and ssh goes through the bastion', async () => {
    await firstDay(stack)
    const launcher = join(stack.home, '.jitssh', 'bin', 'jitssh')
    expect(launcherTargets(readFileSync(launcher, 'utf8'))).toEqual([executable])
    // A warm certificate now: ssh-gen's fast path in the executable, then its ProxyCommand.
    const ssh = await stack.ssh([VM_HOST, 'echo', 'standalone'], { env: { PATH: BASE_PATH } })
    expect(ssh, ssh.stderr).toMatchObject({ code: 0, stdout: 'standalone\n' })
    expect(launcherProblems(blockText(stack, VM_HOST), { platform: process.platform, env: { PATH: BASE_PATH } })).toEqual([])
  })
})
