// jitssh-server's command line, parsed only: each command's options as its run function receives them,
// with the real work replaced (no files, no keys, no network).
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildProgram, COMMANDS } from '../../src/server/commands/main.js'
import type { CliRun } from '../../src/server/commands/io.js'

type Name = keyof typeof COMMANDS

/** Parses `argv` with every command's run replaced by a recorder; returns what was run with which options. */
async function parse(argv: string[]): Promise<{ ran: Array<[Name, unknown]>; exitCode: number | undefined; stderr: string; error?: string }> {
  const stderr = new PassThrough()
  let text = ''
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()))
  const cli: CliRun = { io: { stdin: Readable.from([]), stdout: new PassThrough(), stderr }, exitCode: undefined }
  const ran: Array<[Name, unknown]> = []
  const recorder = (name: Name) => async (_io: unknown, options: unknown) => (ran.push([name, options]), 0)
  const runs = Object.fromEntries((Object.keys(COMMANDS) as Name[]).map((name) => [name, recorder(name)]))
  try {
    await buildProgram(cli, runs).parseAsync(argv, { from: 'user' })
    return { ran, exitCode: cli.exitCode, stderr: text }
  } catch (error) {
    return { ran, exitCode: cli.exitCode, stderr: text, error: (error as { code?: string }).code }
  }
}

describe('jitssh-server command line', () => {
  it('init: the directory and the first user, with defaults', async () => {
    expect((await parse(['init'])).ran).toEqual([['init', { dir: '.', user: 'admin', email: 'admin@example.com' }]])
    expect((await parse(['init', '/etc/jitssh', '--user', 'ops', '--email', 'ops@example.com'])).ran).toEqual([['init', { dir: '/etc/jitssh', user: 'ops', email: 'ops@example.com' }]])
  })

  it('start, check, audit verify and krl need --config', async () => {
    for (const name of ['start', 'check'] as const) {
      expect((await parse([name, '--config', 'c.yaml'])).ran).toEqual([[name, { config: 'c.yaml' }]])
      const missing = await parse([name])
      expect(missing.ran).toEqual([])
      expect(missing.error).toBe('commander.missingMandatoryOptionValue')
      expect(missing.stderr).toContain("required option '--config <file>' not specified")
    }
    expect((await parse(['audit', 'verify', '--config', 'c.yaml'])).ran).toEqual([['audit', { config: 'c.yaml' }]])
    expect((await parse(['krl', '--config', 'c.yaml', '--out', '-'])).ran).toEqual([['krl', { config: 'c.yaml', out: '-' }]])
    expect((await parse(['krl', '--config', 'c.yaml'])).error).toBe('commander.missingMandatoryOptionValue')
  })

  it('target-setup: every --hostname, the defaults, and the optional key, version and directory', async () => {
    expect((await parse(['target-setup', '--config', 'c.yaml', '--hostname', 'vm.example.com', '--hostname', 'vm'])).ran).toEqual([
      ['target-setup', { config: 'c.yaml', hostname: ['vm.example.com', 'vm'], validity: '52w', sshDir: '/etc/ssh' }],
    ])
    const all = await parse(['target-setup', '--config', 'c.yaml', '--hostname', 'h', '--key', 'k.pub', '--sshd-version', '9.8p1', '--ssh-dir', '/srv/ssh', '--out', 'out'])
    expect(all.ran[0]![1]).toMatchObject({ key: 'k.pub', sshdVersion: '9.8p1', sshDir: '/srv/ssh', out: 'out' })
    expect((await parse(['target-setup', '--config', 'c.yaml'])).error).toBe('commander.missingMandatoryOptionValue')
  })

  it('host-cert takes every --hostname, in order, and a default validity', async () => {
    const { ran } = await parse(['host-cert', '--config', 'c.yaml', '--hostname', 'vm.example.com', '--hostname', 'vm', '--key', 'k.pub'])
    expect(ran).toEqual([['host-cert', { config: 'c.yaml', hostname: ['vm.example.com', 'vm'], key: 'k.pub', validity: '52w' }]])
    expect((await parse(['host-cert', '--config', 'c.yaml', '--hostname', 'h', '--key', 'k.pub', '--validity', '30d', '--out', '-'])).ran[0]![1]).toMatchObject({ validity: '30d', out: '-' })
  })

  it('hash-password takes no options; an unknown command or option is a usage error that runs nothing', async () => {
    expect((await parse(['hash-password'])).ran).toEqual([['hash-password', {}]])
    const unknown = await parse(['serve'])
    expect(unknown.ran).toEqual([])
    expect(unknown.error).toBe('commander.unknownCommand')
    const badOption = await parse(['check', '--config', 'c.yaml', '--verbose'])
    expect(badOption.ran).toEqual([])
    expect(badOption.error).toBe('commander.unknownOption')
  })
})
