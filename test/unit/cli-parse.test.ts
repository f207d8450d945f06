// The parse step of every jitssh command: argv → the command's named options type, through the real commander
// program (main) with run functions that only record what they were given. No network, no files: the context
// refuses every request and its home does not exist.
import { describe, expect, it } from 'vitest'
import { COMMANDS, type CommandRuns } from '../../src/cli/main.js'
import { runCli } from '../helpers/cli.js'

const SERVER = 'https://access.example.com'

type Call = { command: keyof CommandRuns; options: unknown }

/** Runs `jitssh <argv>` with recording run functions; each returns `exitCode`. */
async function parse(argv: string[], exitCode = 0) {
  const calls: Call[] = []
  const record = (command: keyof CommandRuns) => async (_ctx: unknown, options: unknown) => {
    calls.push({ command, options: { ...(options as object) } })
    return exitCode
  }
  const runs = Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, record(name as keyof CommandRuns)])) as unknown as CommandRuns
  const result = await runCli(argv, { home: '/nonexistent/jitssh-parse-test', network: 'none', runs })
  return { ...result, calls }
}

/** The one call `argv` makes. */
async function parsedOptions(...argv: string[]): Promise<Call> {
  const r = await parse(argv)
  expect(r.code, r.stderr).toBe(0)
  expect(r.stderr).toBe('')
  expect(r.calls).toHaveLength(1)
  return r.calls[0]!
}

describe('jitssh command options', () => {
  it.each<[string[], Call]>([
    [['login'], { command: 'login', options: { browser: true } }],
    [['login', '--server', SERVER, '--device', '--no-browser'], { command: 'login', options: { server: SERVER, device: true, browser: false } }],
    [['login', '--force'], { command: 'login', options: { browser: true, force: true } }],
    [['login', '--ca-file', 'corp-ca.pem'], { command: 'login', options: { browser: true, caFile: 'corp-ca.pem' } }],
    [['logout'], { command: 'logout', options: {} }],
    [['logout', `--server=${SERVER}`], { command: 'logout', options: { server: SERVER } }],
    [['status'], { command: 'status', options: {} }],
    [['hosts'], { command: 'hosts', options: {} }],
    [['hosts', '--json', '--server', SERVER], { command: 'hosts', options: { json: true, server: SERVER } }],
    [['explain', 'vm.example.com'], { command: 'explain', options: { host: 'vm.example.com' } }],
    [['explain', 'vm.example.com', '--login', 'deploy', '--json'], { command: 'explain', options: { host: 'vm.example.com', login: 'deploy', json: true } }],
    [['status', '--json', '--server', SERVER], { command: 'status', options: { json: true, server: SERVER } }],
    [['doctor'], { command: 'doctor', options: {} }],
    [['doctor', 'deploy@vm.example.com', '--json', '--config', 'my_config', '--server', SERVER], { command: 'doctor', options: { host: 'deploy@vm.example.com', json: true, config: 'my_config', server: SERVER } }],
    [['ssh-config', '--hostname', '*.prod.example.com', '--short-lived-cert'], { command: 'sshConfig', options: { hostname: ['*.prod.example.com'], shortLivedCert: true } }],
    [['ssh-config', '--hostname', 'a.example.com', '--hostname', 'b.example.com'], { command: 'sshConfig', options: { hostname: ['a.example.com', 'b.example.com'] } }],
    [
      ['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--write', '--config', 'my_config', '--server', SERVER],
      { command: 'sshConfig', options: { hostname: ['vm.example.com'], shortLivedCert: true, write: true, config: 'my_config', server: SERVER } },
    ],
    [['ssh-config', '--hostname', 'vm.example.com', '--remove'], { command: 'sshConfig', options: { hostname: ['vm.example.com'], remove: true } }],
    [['ssh-gen', '--hostname', 'vm.example.com'], { command: 'sshGen', options: { hostname: 'vm.example.com' } }],
    [['ssh-gen', '--server', SERVER, '--hostname=vm.example.com'], { command: 'sshGen', options: { server: SERVER, hostname: 'vm.example.com' } }],
    [['ssh-gen', '--hostname', 'vm.example.com', '--ttl', '15m'], { command: 'sshGen', options: { hostname: 'vm.example.com', ttl: '15m' } }],
    [['ssh-gen', '--hostname', 'vm.example.com', '--login', 'deploy'], { command: 'sshGen', options: { hostname: 'vm.example.com', login: 'deploy' } }],
    [['ssh', '--hostname', 'vm.example.com'], { command: 'ssh', options: { hostname: 'vm.example.com', port: '22' } }],
    [['ssh', '--hostname', 'vm.example.com', '--port', '2222', '--server', SERVER], { command: 'ssh', options: { hostname: 'vm.example.com', port: '2222', server: SERVER } }],
    [['audit'], { command: 'audit', options: {} }],
    [
      ['audit', '--user', 'alice@example.com', '--host', 'db.example.com', '--type', 'tunnel', '--since', 'thursday 14:00', '--until', '2h', '--limit', '5', '--oldest-first', '--json', '--server', SERVER],
      { command: 'audit', options: { user: 'alice@example.com', host: 'db.example.com', type: 'tunnel', since: 'thursday 14:00', until: '2h', limit: '5', oldestFirst: true, json: true, server: SERVER } },
    ],
    [['sessions'], { command: 'sessions', options: {} }],
    [['sessions', '--all', '--user', 'bob', '--json'], { command: 'sessions', options: { all: true, user: 'bob', json: true } }],
    [['revoke', '--user', 'alice@example.com', '--reason', 'left the team'], { command: 'revoke', options: { user: 'alice@example.com', reason: 'left the team' } }],
    [['revoke', '--session', 's-1', '--json', '--server', SERVER], { command: 'revoke', options: { session: 's-1', json: true, server: SERVER } }],
    [['user', 'disable', 'alice@example.com', '--reason', 'on leave', '--json'], { command: 'user', options: { action: 'disable', user: 'alice@example.com', reason: 'on leave', json: true } }],
    [['user', 'enable', 'alice@example.com', '--server', SERVER], { command: 'user', options: { action: 'enable', user: 'alice@example.com', server: SERVER } }],
    [['user', 'list-disabled', '--json'], { command: 'user', options: { action: 'list-disabled', json: true } }],
    [['recordings', 'ls'], { command: 'recordings', options: { action: 'ls' } }],
    [
      ['recordings', 'ls', '--user', 'alice', '--host', 'vm.example.com', '--since', '2h', '--until', '1h', '--limit', '5', '--json', '--server', SERVER],
      { command: 'recordings', options: { action: 'ls', user: 'alice', host: 'vm.example.com', since: '2h', until: '1h', limit: '5', json: true, server: SERVER } },
    ],
    [['recordings', 'export', 'abc_DEF-1'], { command: 'recordings', options: { action: 'export', id: 'abc_DEF-1', format: 'cast' } }],
    [['recordings', 'export', 'abc', '--format', 'text', '--server', SERVER], { command: 'recordings', options: { action: 'export', id: 'abc', format: 'text', server: SERVER } }],
    [['login', '--github-actions', '--audience', 'https://access.example.com', '--server', SERVER], { command: 'login', options: { browser: true, githubActions: true, audience: 'https://access.example.com', server: SERVER } }],
    [['login', '--id-token-file', '/var/run/token'], { command: 'login', options: { browser: true, idTokenFile: '/var/run/token' } }],
    [['login', '--client-id', 'ci-key', '--client-key', 'key.pem'], { command: 'login', options: { browser: true, clientId: 'ci-key', clientKey: 'key.pem' } }],
    [['login', '--client-id', 'ci-secret', '--client-secret-file', 'secret'], { command: 'login', options: { browser: true, clientId: 'ci-secret', clientSecretFile: 'secret' } }],
    [['agent', '--out', 'certs'], { command: 'agent', options: { out: 'certs' } }],
    [
      ['agent', '--out', 'certs', '--hostname', 'a.example.com', '--hostname', 'b.example.com', '--oneshot', '--ssh-config', '--server', SERVER],
      { command: 'agent', options: { out: 'certs', hostname: ['a.example.com', 'b.example.com'], oneshot: true, sshConfig: true, server: SERVER } },
    ],
    [['service-accounts', 'ls', '--json'], { command: 'serviceAccounts', options: { action: 'ls', json: true } }],
    [['service-accounts', 'disable', 'deploy-bot', '--reason', 'leaked'], { command: 'serviceAccounts', options: { action: 'disable', name: 'deploy-bot', reason: 'leaked' } }],
    [['service-accounts', 'enable', 'deploy-bot', '--server', SERVER], { command: 'serviceAccounts', options: { action: 'enable', name: 'deploy-bot', server: SERVER } }],
    [['service-accounts', 'revoke', 'deploy-bot', '--json'], { command: 'serviceAccounts', options: { action: 'revoke', name: 'deploy-bot', json: true } }],
  ])('jitssh %j', async (argv, expected) => {
    expect(await parsedOptions(...argv)).toEqual(expected)
  })

  it('a repeated flag: the last value counts', async () => {
    expect(await parsedOptions('ssh-gen', '--hostname', 'a.example.com', '--hostname', 'b.example.com')).toEqual({ command: 'sshGen', options: { hostname: 'b.example.com' } })
    expect(await parsedOptions('ssh', '--hostname', 'vm.example.com', '--port', '22', '--port', '2222')).toEqual({ command: 'ssh', options: { hostname: 'vm.example.com', port: '2222' } })
  })

  it('--debug is the program\'s, before or after the command, and no command option', async () => {
    expect(await parsedOptions('--debug', 'status')).toEqual({ command: 'status', options: {} })
    expect(await parsedOptions('status', '--debug')).toEqual({ command: 'status', options: {} })
  })

  it('the run function\'s result is the exit code', async () => {
    const r = await parse(['status'], 4)
    expect(r.code).toBe(4)
    expect(r.calls).toHaveLength(1)
  })
})

describe('usage errors: exit 2, the problem on stderr, nothing run', () => {
  it.each<[string[], RegExp]>([
    [['status', '--bogus'], /^jitssh: unknown option '--bogus'\n$/],
    [['login', '--browser'], /^jitssh: unknown option '--browser'\n\(Did you mean --no-browser\?\)\n$/],
    [['ssh-gen', '--hostname'], /^jitssh: option '--hostname <host>' argument missing\n$/],
    [['audit', '--limit'], /^jitssh: option '--limit <n>' argument missing\n$/],
    [['sssh', '--hostname', 'vm.example.com'], /^jitssh: unknown command 'sssh'\n\(Did you mean ssh\?\)\n$/],
    [['status', 'extra'], /^jitssh: too many arguments for 'status'\. Expected 0 arguments but got 1\.\n$/],
    [['user', 'disable'], /^jitssh: missing required argument 'user'\n$/],
    [['user', 'enable', 'alice', 'bob'], /^jitssh: too many arguments for 'enable'\. Expected 1 argument but got 2\.\n$/],
    [['user', 'enable', 'alice', '--reason', 'x'], /^jitssh: unknown option '--reason'\n/],
    [['recordings', 'export'], /^jitssh: missing required argument 'id'\n$/],
    [['recordings', 'ls', '--format', 'text'], /^jitssh: unknown option '--format'\n/],
    [['service-accounts', 'disable'], /^jitssh: missing required argument 'name'\n$/],
    [['service-accounts', 'enable', 'deploy-bot', '--reason', 'x'], /^jitssh: unknown option '--reason'\n/],
    [['agent', '--hostname'], /^jitssh: option '--hostname <host>' argument missing\n$/],
  ])('jitssh %j', async (argv, stderr) => {
    const r = await parse(argv)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(stderr)
    expect(r.stdout).toBe('')
    expect(r.calls).toEqual([])
  })

  it('no command, or a command group alone: the usage on stderr, exit 2', async () => {
    for (const argv of [[], ['user'], ['recordings']]) {
      const r = await parse(argv)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^Usage: jitssh /)
      expect(r.calls).toEqual([])
    }
  })

  it('--help and --version: stdout, exit 0', async () => {
    const help = await parse(['ssh-config', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: jitssh ssh-config \[options\]\n/)
    expect(help.stdout).toContain('--short-lived-cert')
    expect(help.calls).toEqual([])
    const version = await parse(['--version'])
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n', calls: [] })
  })
})
