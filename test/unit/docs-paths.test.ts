// docs/ARCHITECTURE.md names files by path; when one moves or goes, the doc must change with it. Every
// backticked `src/...`, `test/...`, `bin/...` or `docs/...` path in it must exist. A placeholder or glob
// (`src/cli/<name>.ts`, `test/unit/**/*.test.ts`) must at least have its folder: the part before `<` or `*`.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const DOC = 'docs/ARCHITECTURE.md'

/** The first word of every inline code span, and every word of fenced code, that starts with a checked folder. */
function documentedPaths(markdown: string): string[] {
  const paths = new Set<string>()
  const fences = /^```[^\n]*\n([\s\S]*?)^```/gm
  for (const [, code] of markdown.matchAll(fences)) {
    for (const word of code!.split(/[\s'"`(),;]+/)) if (isCheckedPath(word)) paths.add(word)
  }
  const prose = markdown.replace(fences, '')
  for (const [, span] of prose.matchAll(/`([^`]+)`/g)) {
    const word = span!.trim().split(/\s+/)[0] ?? ''
    if (isCheckedPath(word)) paths.add(word)
  }
  return [...paths].sort()
}

function isCheckedPath(word: string): boolean {
  return /^(src|test|bin|docs)\/\S*$/.test(word)
}

/** The part of `path` that must exist: all of it, or for a placeholder or glob the folder it sits in. */
function mustExist(path: string): string {
  const wild = path.search(/[<*]/)
  if (wild === -1) return path
  return path.slice(0, path.lastIndexOf('/', wild) + 1)
}

describe(DOC, () => {
  const markdown = readFileSync(join(REPO_ROOT, DOC), 'utf8')
  const paths = documentedPaths(markdown)

  it('names files by path (the check below has something to check)', () => {
    expect(paths.length).toBeGreaterThan(50)
  })

  it('names only paths that exist', () => {
    const missing = paths.filter((path) => !existsSync(join(REPO_ROOT, mustExist(path))))
    expect(missing, `paths in ${DOC} that do not exist`).toEqual([])
  })

  it('reads inline spans, fenced blocks, placeholders and globs as meant', () => {
    const sample = [
      'See `src/cli/main.ts` and `src/client/auth/tokens.ts getAccessToken()`, not `node_modules/x`.',
      '```',
      "ProxyCommand 'node' 'bin/jitssh.js' ssh",
      '```',
      '`src/cli/<name>.ts`, `test/unit/**/*.test.ts`, `docs/`',
    ].join('\n')
    expect(documentedPaths(sample)).toEqual(['bin/jitssh.js', 'docs/', 'src/cli/<name>.ts', 'src/cli/main.ts', 'src/client/auth/tokens.ts', 'test/unit/**/*.test.ts'])
    expect(mustExist('src/cli/<name>.ts')).toBe('src/cli/')
    expect(mustExist('test/unit/**/*.test.ts')).toBe('test/unit/')
    expect(mustExist('src/server/store/sqlite/<role>.ts')).toBe('src/server/store/sqlite/')
    expect(existsSync(join(REPO_ROOT, mustExist('src/nowhere/missing.ts')))).toBe(false)
  })
})
