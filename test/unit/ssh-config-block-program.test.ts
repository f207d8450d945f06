// src/ssh/managed-block-program.ts: the program a rendered block runs reads back exactly, and repointing a
// block gives byte for byte the block rendered with the new program (so every quoting rule of the renderer
// carries over), on POSIX and Windows, with paths that need every kind of quoting.
import { describe, expect, it } from 'vitest'
import { readBlockPrograms, renderManagedBlock, repointBlockPrograms, type ManagedBlockInput } from '../../src/ssh/config.js'
import { SshFormatError } from '../../src/ssh/errors.js'

const SERVER = 'https://access.example.com'
const input = (over: Partial<ManagedBlockInput>): ManagedBlockInput => ({
  hostPattern: 'vm.example.com',
  program: ['/abs/node', '/abs/jitssh.js'],
  server: SERVER,
  certsDir: '~/.jitssh/certs',
  knownHostsFile: '~/.jitssh/known_hosts',
  platform: 'posix',
  ...over,
})

const POSIX_PROGRAMS: Array<{ program: string[]; execProgram?: string[] }> = [
  { program: ['/usr/bin/node', '/opt/jitssh/bin/jitssh.js'], execProgram: ['/usr/bin/node', '/opt/jitssh/bin/jitssh-ssh-gen.cjs'] },
  { program: ['/home/al ice/.jitssh/bin/jitssh'] },
  { program: ["/home/o'brien/100% \"x\"/node", '/a b/$(x)/`y`/jitssh.js'] },
  { program: ['/usr/local/bin/jitssh'] },
]

describe('readBlockPrograms', () => {
  it.each(POSIX_PROGRAMS)('reads back what renderManagedBlock wrote (posix): $program', ({ program, execProgram }) => {
    const block = renderManagedBlock(input({ program, ...(execProgram ? { execProgram } : {}) }))
    expect(readBlockPrograms(block, 'posix')).toEqual({ proxy: program, exec: execProgram ?? program })
  })

  it('reads back a Windows block (quoted program in ProxyCommand, 8.3 path in Match exec), CRLF line ends', () => {
    const program = ['C:\\Program Files\\nodejs\\node.exe', 'C:\\Users\\al ice\\AppData\\Roaming\\npm\\node_modules\\jitssh\\bin\\jitssh.js']
    const execProgram = ['C:\\PROGRA~1\\nodejs\\node.exe', 'C:\\Users\\ALICE~1\\AppData\\Roaming\\npm\\node_modules\\jitssh\\bin\\jitssh-ssh-gen.cjs']
    const block = renderManagedBlock(input({ platform: 'win32', program, execProgram }), '\r\n')
    expect(readBlockPrograms(block, 'win32')).toEqual({ proxy: program, exec: execProgram })
  })

  it('is null for a line it did not write', () => {
    const block = renderManagedBlock(input({})).replace(/ProxyCommand .*/, 'ProxyCommand $(evil) ssh --server x')
    expect(readBlockPrograms(block, 'posix')).toEqual({ proxy: null, exec: ['/abs/node', '/abs/jitssh.js'] })
    expect(readBlockPrograms('# >>> jitssh a >>>\n# <<< jitssh a <<<\n', 'posix')).toEqual({ proxy: null, exec: null })
  })
})

describe('repointBlockPrograms', () => {
  const before = input({ program: ['/old/node', '/old/jitssh.js'], execProgram: ['/old/node', '/old/jitssh-ssh-gen.cjs'], ttl: '15m' })

  it.each(POSIX_PROGRAMS)('gives the block as rendered with the new program (posix): $program', ({ program, execProgram }) => {
    const repointed = repointBlockPrograms(renderManagedBlock(before), program, 'posix', execProgram)
    expect(repointed).toBe(renderManagedBlock({ ...before, program, ...(execProgram ? { execProgram } : { execProgram: program }) }))
  })

  it('gives the block as rendered with the new program (win32, CRLF)', () => {
    const win = input({ platform: 'win32', program: ['C:\\old\\node.exe', 'C:\\old\\jitssh.js'] })
    const program = ['C:\\Program Files\\jitssh\\jitssh.exe']
    const execProgram = ['C:\\PROGRA~1\\jitssh\\jitssh.exe']
    expect(repointBlockPrograms(renderManagedBlock(win, '\r\n'), program, 'win32', execProgram)).toBe(renderManagedBlock({ ...win, program, execProgram }, '\r\n'))
  })

  it('keeps lines the user (or another version) added inside the block', () => {
    const block = renderManagedBlock(before).replace('    IdentitiesOnly yes\n', '    IdentitiesOnly yes\n    User deploy\n')
    const repointed = repointBlockPrograms(block, ['/new/jitssh'], 'posix')
    expect(repointed).toContain('    User deploy\n')
    expect(readBlockPrograms(repointed, 'posix')).toEqual({ proxy: ['/new/jitssh'], exec: ['/new/jitssh'] })
  })

  it('refuses a block whose command lines it cannot read', () => {
    const block = renderManagedBlock(before).replace(/^Match final host .* exec .*$/m, 'Match final host vm.example.com')
    expect(() => repointBlockPrograms(block, ['/new/jitssh'], 'posix')).toThrow(SshFormatError)
  })
})
