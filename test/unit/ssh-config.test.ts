// src/ssh/config: host-name validation, quoting, the managed block, and its editor — checked against
// fixtures of messy real-world files and against the real OpenSSH client (`ssh -G`) as the oracle.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  detectEol,
  findManagedBlocks,
  hostMatchesPattern,
  parseHostSpec,
  quoteArg,
  removeManagedBlock,
  renderManagedBlock,
  splitLikeArgvSplit,
  splitLikeStrdelim,
  upsertManagedBlock,
  type ManagedBlockInput,
} from '../../src/ssh/config.js'
import { SshFormatError } from '../../src/ssh/errors.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/ssh_config/', import.meta.url))
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8')
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((name) => name.endsWith('.conf')).sort()

const SERVER = 'https://access.example.com'
const posixInput = (over: Partial<ManagedBlockInput> = {}): ManagedBlockInput => ({
  hostPattern: 'vm.example.com',
  program: ['/abs/node', '/abs/jitssh.js'],
  server: SERVER,
  certsDir: '~/.jitssh/certs',
  platform: 'posix',
  ...over,
})

function errorOf(fn: () => unknown): SshFormatError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SshFormatError)
    return error as SshFormatError
  }
  throw new Error('expected an SshFormatError, nothing was thrown')
}

/** A message a person reads on one terminal line: no control characters, no line separators. */
function expectOneLine(message: string): void {
  expect(message).not.toMatch(/[\x00-\x1f\x7f\u0085\u2028\u2029]/)
}

/** ssh's percent_expand for the tokens we use. */
function expandPercent(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (_, key: string) => {
    if (key === '%') return '%'
    if (!(key in tokens)) throw new Error(`unexpected token %${key}`)
    return tokens[key] as string
  })
}

/** The words a POSIX shell makes of a command line (run by the real /bin/sh). */
function posixWords(commandLine: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${commandLine}`], { encoding: 'utf8' })
  return out.split('\0').slice(0, -1)
}

/** The MSVCRT / CommandLineToArgvW rules for the arguments of a Windows command line. */
function msvcrtArgs(commandLine: string): string[] {
  const args: string[] = []
  let i = 0
  while (i < commandLine.length) {
    while (commandLine[i] === ' ' || commandLine[i] === '\t') i++
    if (i >= commandLine.length) break
    let arg = ''
    let inQuotes = false
    while (i < commandLine.length && (inQuotes || (commandLine[i] !== ' ' && commandLine[i] !== '\t'))) {
      let backslashes = 0
      while (commandLine[i] === '\\') {
        backslashes++
        i++
      }
      if (commandLine[i] === '"') {
        arg += '\\'.repeat(Math.floor(backslashes / 2))
        if (backslashes % 2 === 1) arg += '"'
        else inQuotes = !inQuotes
        i++
      } else {
        arg += '\\'.repeat(backslashes)
        if (i < commandLine.length && (inQuotes || (commandLine[i] !== ' ' && commandLine[i] !== '\t'))) arg += commandLine[i++]
      }
    }
    args.push(arg)
  }
  return args
}

/** The value of one keyword line inside a rendered block (first occurrence). */
function lineValue(block: string, keyword: string): string {
  const line = block.split(/\r?\n/).find((text) => text.trimStart().startsWith(`${keyword} `))
  if (line === undefined) throw new Error(`no ${keyword} line in\n${block}`)
  return line.trimStart().slice(keyword.length + 1)
}

/** The command inside `Match ... exec "<command>"`. */
function execCommandOf(block: string): string {
  const match = /exec "([^"]*)"/.exec(block)
  if (match === null) throw new Error(`no exec in\n${block}`)
  return match[1] as string
}

// ---------------------------------------------------------------------------------------------------
describe('parseHostSpec', () => {
  it.each([
    ['vm.example.com', 'vm.example.com'],
    ['VM.Example.COM', 'vm.example.com'],
    ['a', 'a'],
    ['10.0.0.1', '10.0.0.1'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['db-01.eu-west-1.internal', 'db-01.eu-west-1.internal'],
    [`${'a'.repeat(63)}.example.com`, `${'a'.repeat(63)}.example.com`],
  ])('accepts the host name %s', (input, host) => {
    expect(parseHostSpec(input)).toEqual({ host, port: undefined })
  })

  it('accepts a name of exactly 253 characters and refuses 254', () => {
    const name253 = [...Array(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.')
    expect(name253).toHaveLength(253)
    expect(parseHostSpec(name253).host).toBe(name253)
    expect(errorOf(() => parseHostSpec(`${name253}c`)).message).toMatch(/longer than 253/)
  })

  it('accepts patterns only with allowPattern', () => {
    expect(parseHostSpec('*.prod.example.com', { allowPattern: true }).host).toBe('*.prod.example.com')
    expect(parseHostSpec('vm-?.example.com', { allowPattern: true }).host).toBe('vm-?.example.com')
    expect(parseHostSpec('vm-*', { allowPattern: true }).host).toBe('vm-*')
    const error = errorOf(() => parseHostSpec('*.prod.example.com'))
    expect(error.code).toBe('ERR_INVALID_HOSTNAME')
    expect(error.message).toMatch(/patterns are not allowed/)
  })

  it.each(['*', '**', '?', '*.*', '?*.*', '*-*'])('refuses the match-everything pattern %s: it would route every ssh through jitssh', (input) => {
    const error = errorOf(() => parseHostSpec(input, { allowPattern: true, allowPort: true }))
    expect(error.code).toBe('ERR_INVALID_HOSTNAME')
    expect(error.message).toMatch(/every ssh connection through jitssh/)
  })

  it('accepts a port only with allowPort, 1 to 65535', () => {
    expect(parseHostSpec('vm.example.com:2222', { allowPort: true })).toEqual({ host: 'vm.example.com', port: 2222 })
    expect(parseHostSpec('*.lab:22', { allowPort: true, allowPattern: true })).toEqual({ host: '*.lab', port: 22 })
    expect(parseHostSpec('10.0.0.1:65535', { allowPort: true }).port).toBe(65535)
    expect(errorOf(() => parseHostSpec('vm.example.com:2222')).message).toMatch(/":port" is not allowed/)
    for (const bad of ['vm:0', 'vm:65536', 'vm:022', 'vm:', 'vm:22a', 'vm:-1', ':22', 'vm:1:2']) {
      expect(errorOf(() => parseHostSpec(bad, { allowPort: true })).code).toBe('ERR_INVALID_HOSTNAME')
    }
  })

  // Everything here could inject a config line, a shell word, a path segment or an option; none may pass,
  // even with both allowPattern and allowPort, and each failure is one line naming the problem.
  const HOSTILE: ReadonlyArray<[string, RegExp]> = [
    ['', /empty/],
    [' ', /a space/],
    ['vm example.com', /a space/],
    [' vm.example.com', /a space/],
    ['vm.example.com\n', /a newline/],
    ['vm.example.com\n  ProxyCommand sh -c evil', /a newline/],
    ['vm.example.com\r', /a carriage return/],
    ['vm.example.com\r\nHost *', /a carriage return/],
    ['vm\texample.com', /a tab/],
    ['vm.example.com\0', /NUL/],
    ['\0', /NUL/],
    ['vm"x', /double quote/],
    ['vm.example.com" exec "sh', /a space|double quote/],
    ["vm'x", /single quote/],
    ['vm`id`', /backquote/],
    ['vm%h', /'%'/],
    ['%d', /'%'/],
    ['vm/../../etc/passwd', /'\/'/],
    ['../etc/passwd', /'\/'/],
    ['..', /empty label/],
    ['a..b', /empty label/],
    ['.vm.example.com', /empty label/],
    ['vm.example.com.', /ends with a dot/],
    ['vm\\x', /'\\'/],
    ['C:\\Windows', /'\\'/],
    ['vm#x', /'#'/],
    ['#', /'#'/],
    ['vm=x', /'='/],
    ['a.example.com,b.example.com', /','/],
    ['!vm.example.com', /'!'/],
    ['$HOME', /'\$'/],
    ['${HOME}', /'\$'/],
    ['vm$(id)', /'\$'/],
    ['user@vm.example.com', /'@'/],
    ['[::1]', /IPv6|'\['/],
    ['::1', /IPv6|":"/],
    ['fe80::1%eth0', /'%'/],
    ['-oProxyCommand=sh', /'='/],
    ['-vm.example.com', /starts with '-'/],
    ['-', /starts with '-'/],
    ['vm-.example.com', /starts or ends with '-'/],
    ['vm.-example.com', /starts or ends with '-'/],
    ['vm;id', /not allowed/],
    ['vm|id', /not allowed/],
    ['vm&id', /not allowed/],
    ['vm(x)', /not allowed/],
    ['vm<x', /not allowed/],
    ['vm>x', /not allowed/],
    ['vm_1.example.com', /not allowed/],
    ['vm~1', /not allowed/],
    ['vm+x', /not allowed/],
    ['vm\x1b[31m', /control character/],
    ['vm\x7f', /control character/],
    ['vm\x01', /control character/],
    ['vm\u0085x', /non-ASCII/],
    ['vm\u2028x', /non-ASCII/],
    ['vm\u200bx.example.com', /non-ASCII/],
    ['v\u0435rysecure.example.com', /non-ASCII character U\+0435/], // Cyrillic е
    ['\uff56\uff4d.example.com', /non-ASCII/], // fullwidth ｖｍ
    ['vm.ex\u00e4mple.com', /non-ASCII/],
    ['vm.example.com\u2024', /non-ASCII/], // one dot leader
    ['x'.repeat(64), /longer than 63/],
    ['999.1.1.1', /IPv4/],
    ['256.0.0.1', /IPv4/],
    ['1.2.3.4.5', /IPv4/],
    ['vm.example.com:22:22', /more than one ":"/],
  ]

  it.each(HOSTILE)('refuses %j', (input, why) => {
    const error = errorOf(() => parseHostSpec(input, { allowPattern: true, allowPort: true }))
    expect(error.code).toBe('ERR_INVALID_HOSTNAME')
    expect(error.message).toMatch(/^invalid host name /)
    expect(error.message).toMatch(why)
    expectOneLine(error.message)
  })

  it('names a long hostile input without echoing all of it', () => {
    const error = errorOf(() => parseHostSpec(`${'a'.repeat(500)}\n`))
    expect(error.message.length).toBeLessThan(200)
    expectOneLine(error.message)
  })
})

describe('hostMatchesPattern', () => {
  it.each([
    ['a.prod.example.com', '*.prod.example.com', true],
    ['a.b.prod.example.com', '*.prod.example.com', true],
    ['prod.example.com', '*.prod.example.com', false],
    ['a.prod.example.com.evil.net', '*.prod.example.com', false],
    ['VM-1.example.com', 'vm-?.example.com', true],
    ['vm-10.example.com', 'vm-?.example.com', false],
    ['vm.example.com', 'vm.example.com', true],
    ['vm.example.co', 'vm.example.com', false],
    ['x', '*', true],
    ['abcabd', '*abd', true],
    ['a'.repeat(200), `${'*a'.repeat(50)}b`, false],
  ])('%s against %s: %s', (host, pattern, expected) => {
    expect(hostMatchesPattern(host, pattern)).toBe(expected)
  })
})

// ---------------------------------------------------------------------------------------------------
const NASTY_ARGS = [
  'plain',
  '/usr/bin/node',
  'with space',
  "it's",
  "''",
  'say "hi"',
  '$HOME',
  '`id`',
  '$(id)',
  'a;b&c|d',
  '*?[x]',
  '~/x',
  '#hash',
  'a=b',
  '100%',
  '!bang',
  'ünïcödé',
  '',
  '-n',
]

describe('quoteArg', () => {
  it('leaves plain words alone and single-quotes the rest on POSIX', () => {
    expect(quoteArg('/usr/bin/node', 'posix')).toBe('/usr/bin/node')
    expect(quoteArg('/opt/my dir/node', 'posix')).toBe("'/opt/my dir/node'")
    expect(quoteArg("it's", 'posix')).toBe("'it'\\''s'")
    expect(quoteArg('', 'posix')).toBe("''")
  })

  it('round-trips nasty arguments through the real /bin/sh', () => {
    const words = posixWords(NASTY_ARGS.map((arg) => quoteArg(arg, 'posix')).join(' '))
    expect(words).toEqual(NASTY_ARGS)
  })

  it('double-quotes per the MSVCRT rules on Windows: backslashes before a quote doubled, paths survive', () => {
    expect(quoteArg('C:\\nodejs\\node.exe', 'win32')).toBe('C:\\nodejs\\node.exe')
    expect(quoteArg('C:\\Program Files\\nodejs\\node.exe', 'win32')).toBe('"C:\\Program Files\\nodejs\\node.exe"')
    expect(quoteArg('C:\\my dir\\', 'win32')).toBe('"C:\\my dir\\\\"')
    expect(quoteArg('a\\"b', 'win32')).toBe('"a\\\\\\"b"')
    const args = [
      ...NASTY_ARGS,
      'C:\\Program Files\\nodejs\\node.exe',
      'C:\\Users\\J Smith\\AppData\\Roaming\\npm\\node_modules\\jitssh\\bin\\jitssh.js',
      'C:\\trailing\\',
      'C:\\trailing space\\',
      'C:\\two\\\\',
      '\\\\server\\share\\x y',
      'a\\\\"b',
      '\\',
      '"',
    ]
    const line = args.map((arg) => quoteArg(arg, 'win32')).join(' ')
    expect(msvcrtArgs(line)).toEqual(args)
  })

  it('always quotes when asked (the program of a command line)', () => {
    expect(quoteArg('/abs/node', 'posix', true)).toBe("'/abs/node'")
    expect(quoteArg('C:\\node.exe', 'win32', true)).toBe('"C:\\node.exe"')
  })

  it.each(['a\nb', 'a\rb', 'a\0b', 'a\x1bb', 'a\u2028b'])('refuses %j: no config line can carry it', (arg) => {
    for (const platform of ['posix', 'win32'] as const) {
      const error = errorOf(() => quoteArg(arg, platform))
      expect(error.code).toBe('ERR_INVALID_CONFIG')
      expectOneLine(error.message)
    }
  })
})

describe('the ssh_config tokenizers (ports of OpenSSH argv_split and strdelim)', () => {
  it.each([
    ['a b\t c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ["'a b' c", ['a b', 'c']],
    ['a\\ b', ['a b']],
    ['"a\\"b"', ['a"b']],
    ['"a\\\'b"', ["a'b"]],
    ['"a\\\\b"', ['a\\b']],
    ['"a\\xb"', ['a\\xb']],
    ['a"b c"d', ['ab cd']],
    ['a #comment', ['a']],
    ['"unterminated', null],
    ["'a\\'", null],
  ])('argv_split %j', (line, words) => {
    expect(splitLikeArgvSplit(line)).toEqual(words)
  })

  it.each([
    ['final host x exec "a \'b\' \\\'c"', ['final', 'host', 'x', 'exec', "a 'b' \\'c"]],
    ['a=b', ['a', 'b']],
    ['a = b', ['a', 'b']],
    ['"a b"c d', ['a b', 'c', 'd']],
    ['x"a b" c', ['xa b', 'c']],
    ['"unterminated', null],
  ])('strdelim %j', (line, words) => {
    expect(splitLikeStrdelim(line)).toEqual(words)
  })

  it("shows why `'\\''` cannot be used inside Match exec: OpenSSH up to 9.8 and from 9.9 read it differently", () => {
    const line = "Match host x exec \"'it'\\''s'\""
    expect(splitLikeStrdelim(line)?.[4]).toBe("'it'\\''s'")
    expect(splitLikeArgvSplit(line)?.[4]).toBe("'it'''s'")
  })
})

// ---------------------------------------------------------------------------------------------------
describe('renderManagedBlock', () => {
  it("renders DESIGN.md's two blocks between marker lines, ending in the global context", () => {
    expect(renderManagedBlock(posixInput())).toBe(
      [
        '# >>> jitssh vm.example.com >>>',
        '# Managed by `jitssh ssh-config` (rewritten on each run). To remove: jitssh ssh-config --hostname vm.example.com --remove',
        'Match final host vm.example.com',
        "    ProxyCommand '/abs/node' '/abs/jitssh.js' ssh --server https://access.example.com --hostname '%h' --port %p",
        '    LogLevel ERROR',
        '    # ssh-gen runs before every connection; if it fails, the ProxyCommand above still applies.',
        `Match final host vm.example.com user "*,!*'*" exec "'/abs/node' '/abs/jitssh.js' ssh-gen --server https://access.example.com --hostname '%h' --login '%r'"`,
        '    IdentityFile ~/.jitssh/certs/%h',
        '    CertificateFile ~/.jitssh/certs/%h-cert.pub',
        '    IdentitiesOnly yes',
        'Match all',
        '# <<< jitssh vm.example.com <<<',
        '',
      ].join('\n'),
    )
  })

  it('adds UserKnownHostsFile (the user known_hosts plus ours) only when a known_hosts file is given', () => {
    expect(renderManagedBlock(posixInput())).not.toMatch(/UserKnownHostsFile/)
    const block = renderManagedBlock(posixInput({ knownHostsFile: '~/.jitssh/known_hosts' }))
    expect(lineValue(block, 'UserKnownHostsFile')).toBe('~/.ssh/known_hosts ~/.jitssh/known_hosts')
    expect(block.indexOf('UserKnownHostsFile')).toBeLessThan(block.indexOf('exec "'))
  })

  it('passes --ttl to ssh-gen in the Match exec line when asked, and refuses a ttl that is not a duration', () => {
    expect(renderManagedBlock(posixInput())).not.toMatch(/--ttl/)
    expect(renderManagedBlock(posixInput({ ttl: '15m' }))).toMatch(/ssh-gen --server \S+ --hostname '%h' --login '%r' --ttl 15m"$/m)
    expect(() => renderManagedBlock(posixInput({ ttl: '15m; rm -rf ~' }))).toThrow(/ttl .* is not a duration like 15m/)
  })

  it('uses the requested line ending on every line', () => {
    const block = renderManagedBlock(posixInput(), '\r\n')
    expect(block.endsWith('<<<\r\n')).toBe(true)
    expect(block.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/)
  })

  it('quotes paths with spaces, quotes and % so that the shell gets back exactly the argv', () => {
    const program = ["/opt/my dir/it's \"odd\" 100%/node", '/opt/jit $HOME/jitssh.js']
    const block = renderManagedBlock(posixInput({ program, certsDir: "/home/o'neil/my certs 100%" }))
    const tokens = { h: 'vm.example.com', p: '22' }
    expect(posixWords(expandPercent(lineValue(block, 'ProxyCommand'), tokens))).toEqual([
      ...program, 'ssh', '--server', SERVER, '--hostname', 'vm.example.com', '--port', '22',
    ])
    expect(posixWords(expandPercent(execCommandOf(block), { ...tokens, r: 'deploy' }))).toEqual([...program, 'ssh-gen', '--server', SERVER, '--hostname', 'vm.example.com', '--login', 'deploy'])
    expect(lineValue(block, 'IdentityFile')).toBe(`"/home/o'neil/my certs 100%%/%h"`)
  })

  it("sets User to the person's one login when given, after the ProxyCommand, and refuses anything but an account name", () => {
    expect(renderManagedBlock(posixInput())).not.toMatch(/^ +User /m)
    const block = renderManagedBlock(posixInput({ user: 'deploy' }))
    expect(lineValue(block, 'User')).toBe('deploy')
    expect(block.indexOf('    User deploy')).toBeLessThan(block.indexOf('exec "'))
    for (const user of ['root\nHost *', 'a b', "o'neil", '-oProxyCommand=x', '%h', '']) {
      expect(errorOf(() => renderManagedBlock(posixInput({ user }))).code, user).toBe('ERR_INVALID_CONFIG')
    }
  })

  it('writes Match lines that read the same under both OpenSSH tokenizers (up to 9.8 and from 9.9)', () => {
    const program = ["/opt/it's/node", '/opt/say "hi"/jitssh.js']
    const block = renderManagedBlock(posixInput({ program, hostPattern: '*.prod.example.com' }))
    for (const line of block.split('\n').filter((text) => /^\s*(Match|IdentityFile|CertificateFile)\b/.test(text))) {
      expect(splitLikeArgvSplit(line.trim())).toEqual(splitLikeStrdelim(line.trim()))
    }
    expect(execCommandOf(block)).not.toMatch(/\\['"\\]|"/)
    expect(splitLikeArgvSplit(`ProxyCommand ${lineValue(block, 'ProxyCommand')}`)).not.toBeNull()
  })

  it('renders Windows command lines: the program always double-quoted, MSVCRT rules, / in file paths', () => {
    const program = ['C:\\Program Files\\nodejs\\node.exe', 'C:\\Users\\J Smith\\AppData\\Roaming\\npm\\node_modules\\jitssh\\bin\\jitssh.js']
    const execProgram = ['C:\\PROGRA~1\\nodejs\\node.exe', 'C:\\Users\\JSMITH~1\\AppData\\Roaming\\npm\\node_modules\\jitssh\\bin\\jitssh.js']
    const block = renderManagedBlock(
      { ...posixInput(), platform: 'win32', program, execProgram, certsDir: 'C:\\Users\\J Smith\\.jitssh\\certs', knownHostsFile: 'C:\\Users\\J Smith\\.jitssh\\known_hosts' },
      '\r\n',
    )
    const proxy = expandPercent(lineValue(block, 'ProxyCommand'), { h: 'vm.example.com', p: '22' })
    // Win32-OpenSSH passes a command line that starts with `"` to CreateProcessW unchanged.
    expect(proxy.startsWith('"C:\\Program Files\\nodejs\\node.exe" ')).toBe(true)
    expect(msvcrtArgs(proxy)).toEqual([...program, 'ssh', '--server', SERVER, '--hostname', 'vm.example.com', '--port', '22'])
    const exec = expandPercent(execCommandOf(block), { h: 'vm.example.com' })
    expect(exec).toBe(`${execProgram.join(' ')} ssh-gen --server ${SERVER} --hostname vm.example.com`)
    expect(lineValue(block, 'IdentityFile')).toBe('"C:/Users/J Smith/.jitssh/certs/%h"')
    expect(lineValue(block, 'UserKnownHostsFile')).toBe('~/.ssh/known_hosts "C:/Users/J Smith/.jitssh/known_hosts"')
  })

  it('refuses a Windows Match exec line that would need quotes, naming the path and the fix', () => {
    const error = errorOf(() =>
      renderManagedBlock({ ...posixInput(), platform: 'win32', program: ['C:\\Program Files\\nodejs\\node.exe', 'C:\\jitssh.js'] }),
    )
    expect(error.code).toBe('ERR_INVALID_CONFIG')
    expect(error.message).toMatch(/C:\\Program Files\\nodejs\\node\.exe.*8\.3 short path/)
  })

  it.each([
    'https://access.example.com/$(id)',
    "https://access.example.com/'",
    'https://access.example.com/"',
    'https://access example.com',
    'https://access.example.com\n',
    'https://access.example.com?next=%0a',
    'https://access.example.com/#frag',
    'https://user:pw@access.example.com',
    'ftp://access.example.com',
    'javascript:alert(1)',
    'access.example.com',
    'https://access.example.com/a;b',
    'https://access.example.com/a&b',
    '',
  ])('refuses the server URL %j', (server) => {
    const error = errorOf(() => renderManagedBlock(posixInput({ server })))
    expect(error.code).toBe('ERR_INVALID_CONFIG')
    expectOneLine(error.message)
  })

  it('accepts server URLs with a port, a path and an IPv6 loopback', () => {
    for (const server of ['https://access.example.com:8443/jitssh', 'http://127.0.0.1:8080', 'http://[::1]:8080']) {
      expect(lineValue(renderManagedBlock(posixInput({ server })), 'ProxyCommand')).toContain(server.includes('[') ? `'${server}'` : server)
    }
  })

  it('refuses hostile host patterns, a bare *, relative or control-character programs, backslashes on POSIX', () => {
    expect(errorOf(() => renderManagedBlock(posixInput({ hostPattern: 'vm.example.com\nHost *' }))).code).toBe('ERR_INVALID_HOSTNAME')
    expect(errorOf(() => renderManagedBlock(posixInput({ hostPattern: '*' }))).message).toMatch(/every ssh connection/)
    expect(errorOf(() => renderManagedBlock(posixInput({ hostPattern: 'vm.example.com:22' }))).code).toBe('ERR_INVALID_HOSTNAME')
    expect(errorOf(() => renderManagedBlock(posixInput({ program: ['node', '/abs/jitssh.js'] }))).message).toMatch(/absolute/)
    expect(errorOf(() => renderManagedBlock(posixInput({ program: [] }))).code).toBe('ERR_INVALID_CONFIG')
    expect(errorOf(() => renderManagedBlock(posixInput({ program: ['/abs/node', '/abs/x\nHost *'] }))).code).toBe('ERR_INVALID_CONFIG')
    expect(errorOf(() => renderManagedBlock(posixInput({ program: ['/abs/no\\de'] }))).message).toMatch(/backslash/)
    expect(errorOf(() => renderManagedBlock(posixInput({ certsDir: '~/${EVIL}' }))).code).toBe('ERR_INVALID_CONFIG')
    expect(errorOf(() => renderManagedBlock(posixInput({ certsDir: '~/"x' }))).code).toBe('ERR_INVALID_CONFIG')
  })
})

// ---------------------------------------------------------------------------------------------------
const BLOCK = renderManagedBlock(posixInput())
const HOST_OR_MATCH = /^[ \t]*(host|match)([ \t]*=|[ \t]|$)/im

/** The text with the block (located by its markers) cut out, and where it was. */
function cutBlock(text: string, hostPattern: string): { rest: string; at: number; block: string } {
  const start = text.indexOf(`# >>> jitssh ${hostPattern} >>>`)
  const endMarker = `# <<< jitssh ${hostPattern} <<<`
  const end = text.indexOf(endMarker, start) + endMarker.length
  expect(start).toBeGreaterThanOrEqual(0)
  const eolAfter = text.startsWith('\r\n', end) ? 2 : text.startsWith('\n', end) ? 1 : 0
  return { rest: text.slice(0, start) + text.slice(end + eolAfter), at: start, block: text.slice(start, end + eolAfter) }
}

describe('upsertManagedBlock / removeManagedBlock on messy real-world files', () => {
  it.each(FIXTURE_NAMES)('%s: every byte outside the block kept, a second write changes nothing, removal restores it', (name) => {
    const original = fixture(name)
    const once = upsertManagedBlock(original, BLOCK, 'vm.example.com')
    expect(once).not.toBe(original)
    expect(upsertManagedBlock(once, BLOCK, 'vm.example.com')).toBe(once)
    expect(removeManagedBlock(once, 'vm.example.com')).toBe(original)

    const { rest, at, block } = cutBlock(once, 'vm.example.com')
    if (!once.endsWith('<<<')) {
      expect(rest).toBe(original)
    } else {
      // No final newline: the last line got one in front of our block, which itself ends the file without one.
      expect(rest).toBe(`${original}${detectEol(original) ?? '\n'}`)
      expect(once.endsWith('<<<')).toBe(true)
    }
    // Our block in the file's line ending; a BOM stays first.
    const eol = detectEol(original) ?? '\n'
    expect(block.replaceAll(eol, '\n')).toBe(BLOCK.slice(0, block.replaceAll(eol, '\n').length))
    if (eol === '\r\n') expect(once.replaceAll('\r\n', '')).not.toMatch(/\n/)
    if (original.startsWith('\uFEFF')) expect(once.startsWith('\uFEFF')).toBe(true)
    // Before the first Host/Match line of the user's (outside other jitssh blocks), after the global options.
    const before = once.slice(0, at)
    const withoutOtherBlocks = before.replace(/# >>> jitssh (\S+) >>>[\s\S]*?# <<< jitssh \1 <<</g, '')
    expect(withoutOtherBlocks).not.toMatch(HOST_OR_MATCH)
    if (HOST_OR_MATCH.test(rest.replace(/# >>> jitssh (\S+) >>>[\s\S]*?# <<< jitssh \1 <<</g, ''))) {
      const after = once.slice(at + block.length)
      expect(after).toMatch(/^([ \t]*#[^\n]*\n)*[ \t]*(host|match)\b/i)
    }
  })

  it('keeps the comment lines attached to the first Host with that Host', () => {
    const once = upsertManagedBlock(fixture('host-first.conf'), BLOCK, 'vm.example.com')
    expect(once.startsWith('# >>> jitssh vm.example.com >>>\n')).toBe(true)
    expect(once).toContain('<<<\n# the very first line describes this Host\nHost myvm\n')
  })

  it('converts a block rendered with LF to the CRLF of the file', () => {
    const once = upsertManagedBlock(fixture('crlf-bom.conf'), BLOCK, 'vm.example.com')
    expect(once).toContain('# >>> jitssh vm.example.com >>>\r\n# Managed by')
    expect(once.replaceAll('\r\n', '')).not.toMatch(/\n/)
  })

  it('writes into an empty file, and removal gives the empty file back', () => {
    expect(upsertManagedBlock('', BLOCK, 'vm.example.com')).toBe(BLOCK)
    expect(removeManagedBlock(BLOCK, 'vm.example.com')).toBe('')
    expect(upsertManagedBlock('', renderManagedBlock(posixInput(), '\r\n'), 'vm.example.com')).toBe(renderManagedBlock(posixInput(), '\r\n'))
    expect(removeManagedBlock(upsertManagedBlock('\uFEFF', BLOCK, 'vm.example.com'), 'vm.example.com')).toBe('\uFEFF')
  })

  it('replaces an existing block in place with the new text, touching nothing else', () => {
    const original = fixture('messy.conf')
    const once = upsertManagedBlock(original, BLOCK, 'vm.example.com')
    const moved = renderManagedBlock(posixInput({ server: 'https://new.example.com' }))
    const twice = upsertManagedBlock(once, moved, 'vm.example.com')
    expect(cutBlock(twice, 'vm.example.com').at).toBe(cutBlock(once, 'vm.example.com').at)
    expect(twice).toContain('--server https://new.example.com')
    expect(twice).not.toContain('--server https://access.example.com')
    expect(removeManagedBlock(twice, 'vm.example.com')).toBe(original)
  })

  it('leaves blocks for other host patterns alone', () => {
    const original = fixture('other-jitssh-block.conf')
    const dbBlock = cutBlock(original, 'db.example.com').block
    const once = upsertManagedBlock(original, BLOCK, 'vm.example.com')
    expect(cutBlock(once, 'db.example.com').block).toBe(dbBlock)
    expect(findManagedBlocks(once).map((block) => block.hostPattern)).toEqual(['db.example.com', 'vm.example.com'])
    const withoutDb = removeManagedBlock(once, 'db.example.com')
    expect(withoutDb).not.toContain('db.example.com >>>')
    expect(cutBlock(withoutDb, 'vm.example.com').block).toBe(cutBlock(once, 'vm.example.com').block)
    expect(removeManagedBlock(original, 'vm.example.com')).toBe(original)
  })

  it('takes patterns as their own blocks', () => {
    const pattern = renderManagedBlock(posixInput({ hostPattern: '*.prod.example.com' }))
    const both = upsertManagedBlock(upsertManagedBlock(fixture('messy.conf'), BLOCK, 'vm.example.com'), pattern, '*.prod.example.com')
    expect(findManagedBlocks(both).map((block) => block.hostPattern)).toEqual(['vm.example.com', '*.prod.example.com'])
    expect(removeManagedBlock(removeManagedBlock(both, 'vm.example.com'), '*.prod.example.com')).toBe(fixture('messy.conf'))
  })

  const START = '# >>> jitssh vm.example.com >>>'
  const END = '# <<< jitssh vm.example.com <<<'
  it.each([
    ['a start marker without its end', `User x\n${START}\nMatch all\n`, 2, /never closed/],
    ['an end marker without its start', `User x\n${END}\n`, 2, /without its start/],
    ['a duplicated block', `${START}\n${END}\nHost a\n${START}\n${END}\n`, 4, /second block/],
    ['nested blocks', `${START}\n# >>> jitssh db.example.com >>>\n${END}\n`, 2, /inside the block/],
    ['an end marker for another pattern', `${START}\n# <<< jitssh db.example.com <<<\n`, 2, /closes the block/],
    ['a mangled marker', `# >>> jitssh vm.example.com\nHost a\n`, 1, /malformed/],
  ])('refuses a hand-edited file with %s, naming the line, changing nothing', (_, text, line, why) => {
    for (const edit of [() => upsertManagedBlock(text, BLOCK, 'vm.example.com'), () => removeManagedBlock(text, 'vm.example.com')]) {
      const error = errorOf(edit)
      expect(error.code).toBe('ERR_INVALID_CONFIG')
      expect(error.message).toContain(`line ${line}:`)
      expect(error.message).toMatch(why)
      expectOneLine(error.message)
    }
  })

  it('refuses a block that is not one block for the pattern, and a hostile pattern', () => {
    expect(errorOf(() => upsertManagedBlock('', BLOCK, 'db.example.com')).code).toBe('ERR_INVALID_CONFIG')
    expect(errorOf(() => upsertManagedBlock('', 'Host *\n', 'vm.example.com')).code).toBe('ERR_INVALID_CONFIG')
    expect(errorOf(() => removeManagedBlock('', 'vm\nHost *')).code).toBe('ERR_INVALID_HOSTNAME')
  })
})

// ---------------------------------------------------------------------------------------------------
// The oracle: the real OpenSSH client reading the files we write. `ssh -G` evaluates Match (and runs
// Match exec) exactly as a connection would, then prints the options it settled on.
describe('ssh -G on the files we write', () => {
  let dir: string
  let recordFile: string
  let recorder: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jitssh-ssh-config-'))
    recordFile = join(dir, 'exec-argv')
    // A program path with a space, a single quote, a double quote, % and $: all must survive.
    const odd = join(dir, `my dir/it's "odd" 100% $HOME`)
    mkdirSync(odd, { recursive: true })
    recorder = join(odd, 'record')
    writeFileSync(recorder, '#!/bin/sh\nprintf \'%s\\0\' "$0" "$@" >> "$JITSSH_TEST_RECORD"\nexit "${JITSSH_TEST_EXIT:-0}"\n')
    chmodSync(recorder, 0o755)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function sshG(config: string, host: string, exitCode = 0): { options: Map<string, string[]>; exec: string[][] } {
    const file = join(dir, 'config')
    writeFileSync(file, config)
    writeFileSync(recordFile, '')
    const out = execFileSync('ssh', ['-G', '-F', file, host], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir, SHELL: '/bin/sh', JITSSH_TEST_RECORD: recordFile, JITSSH_TEST_EXIT: String(exitCode) },
    })
    const options = new Map<string, string[]>()
    for (const line of out.split('\n')) {
      const space = line.indexOf(' ')
      if (space > 0) options.set(line.slice(0, space), [...(options.get(line.slice(0, space)) ?? []), line.slice(space + 1)])
    }
    const words = readFileSync(recordFile, 'utf8').split('\0').slice(0, -1)
    const exec: string[][] = []
    for (let i = 0; i < words.length; i++) if (words[i] === recorder) exec.push([])
    words.forEach((word) => (word === recorder ? undefined : exec[exec.length - 1]?.push(word)))
    return { options, exec }
  }

  const blockFor = (hostPattern: string, program = ['/bin/true'], over: Partial<ManagedBlockInput> = {}) =>
    renderManagedBlock(posixInput({ hostPattern, program, ...over }))
  const proxyOf = (block: string) => lineValue(block, 'ProxyCommand')
  const ours = (options: Map<string, string[]>) => ({
    proxycommand: options.get('proxycommand'),
    identityfile: options.get('identityfile')?.filter((file) => file.includes('jitssh')),
    certificatefile: options.get('certificatefile'),
  })

  it('an exact host gets our ProxyCommand, IdentityFile and CertificateFile', () => {
    const block = blockFor('vm.example.com')
    const { options } = sshG(upsertManagedBlock(fixture('messy.conf'), block, 'vm.example.com'), 'vm.example.com')
    expect(ours(options)).toEqual({
      proxycommand: [proxyOf(block)],
      identityfile: ['~/.jitssh/certs/%h'],
      certificatefile: ['~/.jitssh/certs/%h-cert.pub'],
    })
    expect(options.get('identitiesonly')).toEqual(['yes'])
    expect(options.get('user')).toEqual(['globaluser']) // the user's global options above the block still apply
  })

  it('a *.prod.example.com pattern matches its hosts only', () => {
    const block = blockFor('*.prod.example.com')
    const config = upsertManagedBlock(fixture('messy.conf'), block, '*.prod.example.com')
    expect(ours(sshG(config, 'db1.prod.example.com').options).proxycommand).toEqual([proxyOf(block)])
    expect(ours(sshG(config, 'a.b.prod.example.com').options).certificatefile).toEqual(['~/.jitssh/certs/%h-cert.pub'])
    for (const other of ['prod.example.com', 'db1.prod.example.com.evil.net', 'vm.example.com']) {
      expect(ours(sshG(config, other).options)).toEqual({ proxycommand: undefined, identityfile: [], certificatefile: undefined })
    }
  })

  it('a user alias (Host myvm + HostName) reaches our blocks, below and above them, and the exec sees the real name', () => {
    const block = blockFor('vm.example.com', [recorder])
    const alias = 'Host myvm\n    HostName vm.example.com\n'
    const aliasBelow = upsertManagedBlock(alias, block, 'vm.example.com')
    expect(aliasBelow.indexOf('Host myvm')).toBeGreaterThan(aliasBelow.indexOf('<<<'))
    const aliasAbove = `${alias}${block}`
    for (const config of [aliasBelow, aliasAbove]) {
      const { options, exec } = sshG(config, 'myvm')
      expect(options.get('hostname')).toEqual(['vm.example.com'])
      expect(ours(options)).toEqual({
        proxycommand: [proxyOf(block)],
        identityfile: ['~/.jitssh/certs/%h'],
        certificatefile: ['~/.jitssh/certs/%h-cert.pub'],
      })
      expect(exec).toEqual([['ssh-gen', '--server', SERVER, '--hostname', 'vm.example.com', '--login', userInfo().username]])
    }
  })

  it("User: the block's login applies to a plain `ssh host`, and ssh-gen hears it; user@host and an earlier User win", () => {
    const block = blockFor('vm.example.com', [recorder], { user: 'deploy' })
    const config = upsertManagedBlock('', block, 'vm.example.com')
    const plain = sshG(config, 'vm.example.com')
    expect(plain.options.get('user')).toEqual(['deploy'])
    expect(plain.exec).toEqual([['ssh-gen', '--server', SERVER, '--hostname', 'vm.example.com', '--login', 'deploy']])
    const explicit = sshG(config, 'root@vm.example.com')
    expect(explicit.options.get('user')).toEqual(['root'])
    expect(explicit.exec[0]?.slice(-2)).toEqual(['--login', 'root'])
    // The user's own `User` for the host, above or below the block (read in ssh's first pass), wins.
    for (const own of [`Host vm.example.com\n    User mine\n${config}`, `${config}Host vm.example.com\n    User mine\n`]) {
      expect(sshG(own, 'vm.example.com').options.get('user')).toEqual(['mine'])
    }
  })

  it("a user name with a single quote never reaches the shell: the exec does not run, so no certificate applies", () => {
    // (OpenSSH from 9.6, and Debian's 9.2, refuse such a name on the command line; from a config it still comes.)
    const block = blockFor('vm.example.com', [recorder])
    const { options, exec } = sshG(`Host vm.example.com\n    User "o'neil"\n${block}`, 'vm.example.com')
    expect(options.get('user')).toEqual(["o'neil"])
    expect(exec).toEqual([])
    expect(ours(options).certificatefile).toBeUndefined()
    expect(ours(options).proxycommand).toEqual([proxyOf(block)]) // still only through the bastion
  })

  it('a host that matches nothing of ours gets none of our options, and our exec does not run', () => {
    const block = blockFor('vm.example.com', [recorder])
    const { options, exec } = sshG(upsertManagedBlock(fixture('messy.conf'), block, 'vm.example.com'), 'other.example.com')
    expect(ours(options)).toEqual({ proxycommand: undefined, identityfile: [], certificatefile: undefined })
    expect([...options.values()].flat().join('\n')).not.toContain('jitssh')
    expect(exec).toEqual([])
  })

  it('when the exec fails, the ProxyCommand still applies: never a direct connection', () => {
    for (const [program, exitCode] of [[['/bin/false'], 0], [[recorder], 1]] as const) {
      const block = blockFor('vm.example.com', [...program])
      const { options } = sshG(upsertManagedBlock(fixture('globals-only.conf'), block, 'vm.example.com'), 'vm.example.com', exitCode)
      expect(ours(options)).toEqual({ proxycommand: [proxyOf(block)], identityfile: [], certificatefile: undefined })
    }
  })

  it('a program path with spaces, quotes, % and $ survives into the ProxyCommand ssh prints and into the exec it runs', () => {
    const program = [recorder, join(dir, "it's here/jitssh.js")]
    const block = blockFor('vm.example.com', program)
    const { options, exec } = sshG(upsertManagedBlock(fixture('messy.conf'), block, 'vm.example.com'), 'vm.example.com')
    const proxy = options.get('proxycommand')?.[0] as string
    expect(proxy).toBe(proxyOf(block))
    expect(posixWords(expandPercent(proxy, { h: 'vm.example.com', p: '22' }))).toEqual([
      ...program, 'ssh', '--server', SERVER, '--hostname', 'vm.example.com', '--port', '22',
    ])
    expect(exec).toEqual([[program[1], 'ssh-gen', '--server', SERVER, '--hostname', 'vm.example.com', '--login', 'globaluser']])
  })

  it('restores the global context after the block: options a user appends below it stay global', () => {
    const config = `${upsertManagedBlock(fixture('globals-only.conf'), blockFor('vm.example.com'), 'vm.example.com')}User appended\n`
    expect(sshG(config, 'other.example.com').options.get('user')).toEqual(['globaluser'])
    const noGlobalUser = `${upsertManagedBlock('ServerAliveInterval 30\n', blockFor('vm.example.com'), 'vm.example.com')}User appended\n`
    expect(sshG(noGlobalUser, 'other.example.com').options.get('user')).toEqual(['appended'])
  })

  it('reads our block in CRLF files and in files without a final newline', () => {
    // (crlf-bom.conf without its BOM: OpenSSH 9.2 itself refuses a file that starts with one.)
    const cases: Array<[string, string]> = [
      [fixture('crlf-bom.conf').replace(/^\uFEFF/, ''), 'myvm'],
      [fixture('crlf-no-final-newline.conf'), 'myvm'],
      [fixture('globals-only-no-final-newline.conf'), 'vm.example.com'],
    ]
    for (const [text, host] of cases) {
      const block = blockFor('vm.example.com')
      const { options } = sshG(upsertManagedBlock(text, block, 'vm.example.com'), host)
      expect(ours(options).proxycommand).toEqual([proxyOf(block)])
      expect(ours(options).certificatefile).toEqual(['~/.jitssh/certs/%h-cert.pub'])
    }
  })

  it('accepts the Windows rendering (quotes balance, the ProxyCommand is kept verbatim)', () => {
    const block = renderManagedBlock(
      {
        ...posixInput(),
        platform: 'win32',
        program: ['C:\\Program Files\\nodejs\\node.exe', 'C:\\Users\\J Smith\\jitssh\\bin\\jitssh.js'],
        execProgram: ['C:\\PROGRA~1\\nodejs\\node.exe', 'C:\\Users\\JSMITH~1\\jitssh\\bin\\jitssh.js'],
        certsDir: 'C:\\Users\\J Smith\\.jitssh\\certs',
      },
      '\r\n',
    )
    const { options } = sshG(block, 'vm.example.com')
    expect(options.get('proxycommand')).toEqual([proxyOf(block)])
  })
})
