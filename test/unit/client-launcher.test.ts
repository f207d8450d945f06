// The stable launcher (src/client/ssh-config/launcher.ts), run by the real /bin/sh: it execs the recorded
// jitssh (the ssh-gen entry for ssh-gen), falls back to the jitssh on PATH once that is gone (never to itself),
// and otherwise prints one line with the fix and exits 255. launcherProblems() names each broken state.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { installLauncher, launcherPath, launcherProblems, launcherTargets, renderLauncher, repointBlocks } from '../../src/client/ssh-config/launcher.js'
import { jitsshPaths, type JitsshPaths } from '../../src/client/files/paths.js'
import { readBlockPrograms, renderManagedBlock } from '../../src/ssh/config.js'

let dir: string
let paths: JitsshPaths

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-launcher-'))
  paths = jitsshPaths({ JITSSH_HOME: join(dir, 'home with space', '.jitssh') }, dir)
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** A stand-in program that prints its name and arguments, one per line. */
function fakeProgram(path: string, name: string): string {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, `#!/bin/sh\necho ${name}\nfor a in "$@"; do echo "$a"; done\n`, { mode: 0o755 })
  return path
}

function runLauncher(args: string[], PATH = '/usr/bin:/bin') {
  const r = spawnSync(launcherPath(paths), args, { env: { PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the launcher script', () => {
  it('runs node + bin/jitssh.js, and node + the ssh-gen entry for ssh-gen; 0755, atomic, idempotent', async () => {
    const node = fakeProgram(join(dir, 'node it\'s'), 'node')
    const cli = join(dir, 'pkg', 'bin', 'jitssh.js')
    mkdirSync(join(dir, 'pkg', 'bin'), { recursive: true })
    writeFileSync(cli, '')
    writeFileSync(join(dir, 'pkg', 'bin', 'jitssh-ssh-gen.cjs'), '')
    const first = await installLauncher(paths, { execPath: node, scriptPath: cli }, '9.9.9')
    expect(first).toEqual({ path: join(paths.home, 'bin', 'jitssh'), changed: true })
    expect(statSync(first.path).mode & 0o777).toBe(0o755)
    expect(await installLauncher(paths, { execPath: node, scriptPath: cli }, '9.9.9')).toEqual({ path: first.path, changed: false })
    expect(launcherTargets(readFileSync(first.path, 'utf8'))).toEqual([node, cli])

    expect(runLauncher(['ssh', '--hostname', 'vm.example.com', 'a b']).stdout).toBe(`node\n${cli}\nssh\n--hostname\nvm.example.com\na b\n`)
    expect(runLauncher(['ssh-gen', '--hostname', 'vm.example.com']).stdout).toBe(`node\n${join(dir, 'pkg', 'bin', 'jitssh-ssh-gen.cjs')}\nssh-gen\n--hostname\nvm.example.com\n`)
  })

  it('runs a standalone executable', async () => {
    const exe = fakeProgram(join(dir, 'opt', 'jitssh'), 'standalone')
    await installLauncher(paths, { execPath: exe, scriptPath: null }, '9.9.9')
    expect(runLauncher(['ssh-gen', '--hostname', 'h']).stdout).toBe('standalone\nssh-gen\n--hostname\nh\n')
  })

  it('once the recorded jitssh is gone: the jitssh on PATH; without one, one line with the fix and exit 255', async () => {
    await installLauncher(paths, { execPath: join(dir, 'gone', 'node'), scriptPath: join(dir, 'gone', 'jitssh.js') }, '9.9.9')
    fakeProgram(join(dir, 'path', 'jitssh'), 'from-path')
    const viaPath = runLauncher(['ssh-gen', '--hostname', 'vm.example.com'], `${join(dir, 'path')}:/usr/bin:/bin`)
    expect(viaPath).toEqual({ code: 0, stdout: 'from-path\nssh-gen\n--hostname\nvm.example.com\n', stderr: '' })

    const none = runLauncher(['ssh', '--server', 'https://a.example.com', '--hostname', 'vm.example.com', '--port', '22'])
    expect(none.code).toBe(255)
    expect(none.stdout).toBe('')
    expect(none.stderr).toBe(
      `jitssh: the jitssh CLI moved or was removed (${join(dir, 'gone', 'jitssh.js')} is gone and no jitssh is on PATH; reinstall it, then run: jitssh ssh-config --hostname vm.example.com --write to repair)\n`,
    )
  })

  it('never runs itself again when the launcher is what PATH finds', async () => {
    await installLauncher(paths, { execPath: join(dir, 'gone', 'node'), scriptPath: join(dir, 'gone', 'jitssh.js') }, '9.9.9')
    const r = runLauncher(['ssh-gen', '--hostname', 'h'], `${join(paths.home, 'bin')}:/usr/bin:/bin`)
    expect(r.code).toBe(255)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('refuses a path no sh word can carry', () => {
    expect(() => renderLauncher({ execPath: '/a\nb', scriptPath: null }, '1')).toThrow(/control character/)
  })
})

describe('repointBlocks', () => {
  it('points every other block of ours at the launcher, and leaves blocks already there alone', () => {
    const block = (host: string, program: string[]) => renderManagedBlock({ hostPattern: host, program, server: 'https://a.example.com', certsDir: '~/.jitssh/certs', platform: 'posix' })
    const text = `Host other\n    User bob\n\n${block('a.example.com', ['/old/node', '/old/jitssh.js'])}${block('b.example.com', ['/L/jitssh'])}${block('*.c.example.com', ['/gone/node', '/gone/jitssh.js'])}`
    const result = repointBlocks(text, ['/L/jitssh'])
    expect(result.hosts).toEqual(['a.example.com', '*.c.example.com'])
    expect(result.text).toBe(`Host other\n    User bob\n\n${block('a.example.com', ['/L/jitssh'])}${block('b.example.com', ['/L/jitssh'])}${block('*.c.example.com', ['/L/jitssh'])}`)
    expect(repointBlocks(result.text, ['/L/jitssh'])).toEqual({ text: result.text, hosts: [] })
  })
})

describe('launcherProblems', () => {
  const env = { PATH: '/nonexistent' }
  const blockFor = (program: string[]) =>
    renderManagedBlock({ hostPattern: 'vm.example.com', program, server: 'https://a.example.com', certsDir: '~/.jitssh/certs', platform: 'posix' })
  const codes = (block: string, e: Record<string, string> = env) => launcherProblems(block, { platform: 'linux', env: e }).map((p) => `${p.severity} ${p.code}`)

  it('none for a block through a launcher whose jitssh exists', async () => {
    const node = fakeProgram(join(dir, 'node'), 'node')
    writeFileSync(join(dir, 'jitssh.js'), '')
    const { path } = await installLauncher(paths, { execPath: node, scriptPath: join(dir, 'jitssh.js') }, '1')
    expect(launcherProblems(blockFor([path]), { platform: 'linux', env })).toEqual([])
  })

  it('names an old-style block whose node is gone (fail) or still there (warn), with the repair command', () => {
    const stale = launcherProblems(blockFor(['/gone/node', '/gone/jitssh.js']), { platform: 'linux', env })
    expect(stale).toEqual([
      {
        code: 'ERR_PROGRAM_MISSING',
        severity: 'fail',
        message: 'the jitssh block for vm.example.com runs /gone/node and /gone/jitssh.js, which no longer exist (ssh fails with "No such file")',
        fix: 'run: jitssh ssh-config --hostname vm.example.com --write',
      },
    ])
    const script = join(dir, 'jitssh.js')
    writeFileSync(script, '')
    expect(codes(blockFor([process.execPath, script]))).toEqual(['warn WARN_NOT_LAUNCHER'])
  })

  it('names a missing launcher, and a launcher whose jitssh is gone (fail without one on PATH, warn with)', async () => {
    expect(codes(blockFor([launcherPath(paths)]))).toEqual(['fail ERR_LAUNCHER_MISSING'])
    await installLauncher(paths, { execPath: join(dir, 'gone', 'node'), scriptPath: join(dir, 'gone', 'jitssh.js') }, '1')
    expect(codes(blockFor([launcherPath(paths)]))).toEqual(['fail ERR_LAUNCHER_STALE'])
    fakeProgram(join(dir, 'path', 'jitssh'), 'x')
    expect(codes(blockFor([launcherPath(paths)]), { PATH: join(dir, 'path') })).toEqual(['warn WARN_LAUNCHER_FALLBACK'])
    // The launcher itself on PATH is no fallback.
    expect(codes(blockFor([launcherPath(paths)]), { PATH: join(paths.home, 'bin') })).toEqual(['fail ERR_LAUNCHER_STALE'])
    chmodSync(launcherPath(paths), 0o644)
    expect(codes(blockFor([launcherPath(paths)]))).toEqual(['fail ERR_LAUNCHER_MISSING'])
  })

  it('names a block it cannot read', () => {
    const block = blockFor(['/x']).replace(/ProxyCommand .*/, 'ProxyCommand nc %h %p')
    expect(codes(block)).toEqual(['fail ERR_BLOCK_UNREADABLE'])
    expect(readBlockPrograms(block, 'posix').proxy).toBeNull()
  })
})
