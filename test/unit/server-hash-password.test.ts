// jitssh-server hash-password on a terminal: the password is read in raw mode (the terminal does not echo
// it), asked twice, and never written anywhere but as its hash. Piped input is read as it is.
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { hashPasswordCommand } from '../../src/server/commands/hash-password-command.js'
import { verifyPassword } from '../../src/server/identity/password-hash.js'

/** A stdin that says it is a terminal and records its raw mode; `typed` arrives key by key once raw. */
function terminal(typed: string[]): { stdin: PassThrough & { isTTY: boolean; setRawMode(raw: boolean): void; rawModes: boolean[] }; stderr: PassThrough; stdout: PassThrough; text(): { err: string; out: string } } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[], setRawMode(raw: boolean) {
    stdin.rawModes.push(raw)
    if (raw) setImmediate(() => stdin.write(typed.shift() ?? ''))
  } })
  const stderr = new PassThrough()
  const stdout = new PassThrough()
  let err = ''
  let out = ''
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return { stdin, stderr, stdout, text: () => ({ err, out }) }
}

describe('hash-password on a terminal', () => {
  it('reads the password twice in raw mode, echoes nothing, and prints only the hash', async () => {
    const t = terminal(['correct horsx\u007fe battery\r', 'correct horse battery\r'])
    expect(await hashPasswordCommand({ stdin: t.stdin, stdout: t.stdout, stderr: t.stderr })).toBe(0)
    const { err, out } = t.text()
    expect(err).toBe('password (not shown): \nagain: \n')
    expect(t.stdin.rawModes).toEqual([true, false, true, false])
    expect(out).toMatch(/^scrypt\$/)
    expect(await verifyPassword('correct horse battery', out.trim())).toBe(true)
  })

  it('refuses two different passwords, and Ctrl-C, hashing nothing', async () => {
    const differ = terminal(['correct horse battery\r', 'correct horse battery!\r'])
    await expect(hashPasswordCommand({ stdin: differ.stdin, stdout: differ.stdout, stderr: differ.stderr })).rejects.toThrow('the two passwords differ; nothing was hashed')
    expect(differ.text().out).toBe('')
    const interrupted = terminal(['correct\u0003'])
    await expect(hashPasswordCommand({ stdin: interrupted.stdin, stdout: interrupted.stdout, stderr: interrupted.stderr })).rejects.toMatchObject({ code: 'ERR_INTERRUPTED' })
    expect(interrupted.stdin.rawModes).toEqual([true, false])
  })
})
