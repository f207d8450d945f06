// Quoting one argument for the command lines ssh runs for us: `ProxyCommand` and `Match exec`.
//
// What runs them (read in openssh-portable and PowerShell/openssh-portable, the Win32-OpenSSH source):
// - POSIX: both go to `$SHELL -c "exec <command>"` (readconf.c execute_in_shell, sshconnect.c
//   ssh_proxy_connect), after ssh's own %-token expansion (percent_expand: `%%` is a literal `%`).
// - Windows (Win32-OpenSSH): `Match exec` is `system(cmd)`, i.e. `cmd.exe /c <command>` (readconf.c,
//   `#ifdef WINDOWS return system(cmd)`). `ProxyCommand` goes, without any shell, to posix_spawnp() with the
//   whole command string as the "file" (sshconnect.c, FORK_NOT_SUPPORTED); the compat layer's
//   build_commandline_string() (contrib/win32/win32compat/misc.c) hands a string that starts with `"` to
//   CreateProcessW unchanged, but wraps any other string whole in quotes (unless it contains ".exe "), which
//   would make the entire line the program name. So on Windows the program is always double-quoted, and the
//   program parses its arguments with the MSVCRT rules (CommandLineToArgvW).
import { SshFormatError } from './errors.js'

export type Platform = 'posix' | 'win32'

/** Characters a POSIX shell takes literally in an unquoted word (also at its start). */
const POSIX_BARE = /^[A-Za-z0-9_@%+:,./-]+$/
/** Characters that need no quoting for the MSVCRT argument parser, nor for cmd.exe. */
const WIN32_BARE = /^[A-Za-z0-9_@+:./\\~[\]-]+$/

/** Throws for characters that no config line can carry: control characters (a newline would end the line). */
export function assertNoControlCharacters(arg: string, what: string): void {
  for (const ch of arg) {
    const code = ch.codePointAt(0) as number
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      throw new SshFormatError(
        'ERR_INVALID_CONFIG',
        `${what} contains a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')}), which an ssh_config line cannot carry`,
      )
    }
  }
}

function quotePosix(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`
}

/** MSVCRT rules: wrap in `"`, double the backslashes that precede a `"` (or the closing quote), escape `"`. */
function quoteWin32(arg: string): string {
  let out = '"'
  let backslashes = 0
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++
    } else if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"'
      backslashes = 0
    } else {
      out += '\\'.repeat(backslashes) + ch
      backslashes = 0
    }
  }
  return `${out}${'\\'.repeat(backslashes * 2)}"`
}

/**
 * Quotes one argument for the platform's ssh `Match exec` / `ProxyCommand` command line: POSIX single
 * quotes when needed (`'` becomes `'\''`); on Windows double quotes per the MSVCRT rules when needed.
 * `always` quotes even a plain word (we always quote the program, as Win32-OpenSSH requires).
 * It does not escape `%` for ssh: see escapeSshPercent.
 */
export function quoteArg(arg: string, platform: Platform, always = false): string {
  assertNoControlCharacters(arg, 'a command-line argument')
  if (platform === 'win32') return !always && WIN32_BARE.test(arg) ? arg : quoteWin32(arg)
  return !always && POSIX_BARE.test(arg) ? arg : quotePosix(arg)
}

/**
 * POSIX quoting for a word inside `Match exec "..."`, where neither `"` (ends the word up to OpenSSH 9.8)
 * nor `\'` (loses its backslash from 9.9) can appear. A `'` or `"` in the argument is produced at run time
 * by `$(printf '\047')` / `$(printf '\042')` instead (POSIX sh, bash, zsh, dash, fish >= 3.4).
 */
export function quotePosixArgForMatchExec(arg: string, always = false): string {
  assertNoControlCharacters(arg, 'a command-line argument')
  if (!always && POSIX_BARE.test(arg)) return arg
  let out = ''
  for (const piece of arg.split(/(['"])/)) {
    if (piece === "'") out += "$(printf '\\047')"
    else if (piece === '"') out += "$(printf '\\042')"
    else if (piece !== '') out += `'${piece}'`
  }
  return out === '' ? "''" : out
}

/**
 * Windows words inside `Match exec "..."`: cmd.exe needs `"` around anything with a space, and ssh_config
 * cannot put a `"` there; so only words that need no quoting at all are possible (8.3 short paths such as
 * C:\PROGRA~1\nodejs\node.exe work). Throws, naming the word, otherwise.
 */
export function win32ArgForMatchExec(arg: string): string {
  assertNoControlCharacters(arg, 'a command-line argument')
  if (WIN32_BARE.test(arg)) return arg
  throw new SshFormatError(
    'ERR_INVALID_CONFIG',
    `cannot put "${arg}" into a Windows Match exec line: cmd.exe would need double quotes around it, and ssh_config cannot carry them there (for a program path, pass its 8.3 short path, e.g. C:\\PROGRA~1\\nodejs\\node.exe, as execProgram)`,
  )
}

/** ssh expands %-tokens in ProxyCommand, Match exec and file options: a literal `%` is written `%%`. */
export function escapeSshPercent(text: string): string {
  return text.replaceAll('%', '%%')
}
