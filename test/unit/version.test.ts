// One version for the package, jitssh --version and jitssh-server --version.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { VERSION } from '../../src/shared/version.js'
import { REPO_ROOT } from '../helpers/cli.js'

describe('the version', () => {
  it('is package.json\'s', () => {
    expect(VERSION).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version)
  })
})
