/**
 * The man pages stay in step with the commands: every command and long option that `--help` shows is in
 * the man page, every option the man page documents exists, and groff renders them without a warning.
 * Runs the built bins (npm test builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../helpers/stack.js'

interface Cli {
  bin: string
  page: string
}
const CLIS: Cli[] = [
  { bin: 'bin/jitssh.js', page: 'man/jitssh.1' },
  { bin: 'bin/jitssh-server.js', page: 'man/jitssh-server.8' },
]

function help(bin: string, path: string[]): string {
  return execFileSync(process.execPath, [join(REPO_ROOT, bin), ...path, '--help'], { encoding: 'utf8' })
}

/** Command names listed under "Commands:" in a help text (without `help`). */
function commandsIn(text: string): string[] {
  const section = text.split(/^Commands:$/m)[1] ?? ''
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help')
}

/** Long options in a help text's "Options:" section (without --help). */
function optionsIn(text: string): string[] {
  const section = (text.split(/^Options:$/m)[1] ?? '').split(/^Commands:$/m)[0]!
  return [...section.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((o) => o !== '--help')
}

/** Every command path (e.g. ['audit', 'verify']) with its help text. */
function walk(bin: string, path: string[] = []): Array<{ path: string[]; text: string }> {
  const text = help(bin, path)
  return [{ path, text }, ...commandsIn(text).flatMap((name) => walk(bin, [...path, name]))]
}

/** roff source → the words a reader sees (escapes for '-' undone). */
const plain = (roff: string): string => roff.replace(/\\-/g, '-').replace(/\\f[BIRP]/g, '')

describe.each(CLIS)('$page', ({ bin, page }) => {
  const source = readFileSync(join(REPO_ROOT, page), 'utf8')
  const text = plain(source)
  const commands = walk(bin)

  it('documents every command and every option --help shows', () => {
    const missing: string[] = []
    for (const { path, text: helpText } of commands) {
      if (path.length > 0 && !new RegExp(`^\\.SS ${path.join(' ')}( |$)`, 'm').test(text)) missing.push(`command: ${path.join(' ')}`)
      for (const option of optionsIn(helpText)) if (!text.includes(option)) missing.push(`option: ${[...path, option].join(' ')}`)
    }
    expect(missing).toEqual([])
  })

  it('documents no option that does not exist', () => {
    const known = new Set(commands.flatMap(({ text: helpText }) => optionsIn(helpText)))
    known.add('--help')
    const documented = [...new Set([...text.matchAll(/(?<![\w-])(--[a-z][a-z-]+)/g)].map((m) => m[1]!))]
    expect(documented.filter((option) => !known.has(option))).toEqual([])
  })

  it('has the NAME, SYNOPSIS, EXIT STATUS, ENVIRONMENT and FILES sections', () => {
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'ENVIRONMENT', 'FILES']) {
      expect(source).toMatch(new RegExp(`^\\.SH "?${section}"?$`, 'm'))
    }
  })

  it('documents every JITSSH_* variable the program reads', () => {
    const sources = page.endsWith('.1') ? ['src/client/env.ts'] : []
    const read = new Set(sources.flatMap((file) => [...readFileSync(join(REPO_ROOT, file), 'utf8').matchAll(/env\.(JITSSH_[A-Z_]+)/g)].map((m) => m[1]!)))
    expect([...read].filter((name) => !new RegExp(`^\\.B ${name}$`, 'm').test(source))).toEqual([])
  })

  it('renders with groff -man -ww without a warning', () => {
    const result = spawnSync('groff', ['-man', '-ww', '-z', join(REPO_ROOT, page)], { encoding: 'utf8' })
    expect(result.error).toBeUndefined()
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})
