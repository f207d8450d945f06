#!/usr/bin/env node
// `jitssh ssh-gen` as ssh's `Match exec` runs it before every connection (`jitssh ssh-config` writes this
// file into the exec line). CommonJS on purpose: node starts an ES-module entry point ~20% slower than
// `node -e 0` (it loads its ESM loader first), and this runs on every `ssh`. With a certificate on disk that
// is valid for longer than the margin, and its key, it exits 0 having loaded nothing but node:fs/os/path —
// the same check as the fast path in src/cli/entry.ts (test/integration/cli-ssh-gen-fast-path.test.ts holds
// the two to the same answers). Anything else — other flags, an unusual host name, no or an old certificate —
// runs the real `jitssh ssh-gen` (bin/jitssh.js), which validates strictly, talks to the server and explains.
'use strict'
const { accessSync, readFileSync } = require('node:fs')
const { homedir } = require('node:os')
const { join } = require('node:path')

// Lower-case DNS labels only (no '/', no '..'): a name that passes cannot leave the certs directory. Names
// jitssh accepts but this does not (none that it writes certificates for) take the slow path.
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/** Subject-key strings of each certificate type (as src/ssh/cert-validity.ts). */
const SUBJECT_KEY_STRINGS = {
  'ssh-ed25519-cert-v01@openssh.com': 1,
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 2,
  'ssh-rsa-cert-v01@openssh.com': 2,
}

/** valid_before (Unix seconds) of a certificate line, unverified; null when unreadable (as src/ssh/cert-validity.ts). */
function readValidBefore(text) {
  const [type, base64] = text.trim().split(/\s+/, 2)
  if (type === undefined || base64 === undefined || !Object.hasOwn(SUBJECT_KEY_STRINGS, type)) return null
  const blob = Buffer.from(base64, 'base64')
  let offset = 0
  const skipString = () => {
    if (offset + 4 > blob.length) return false
    offset += 4 + blob.readUInt32BE(offset)
    return offset <= blob.length
  }
  if (blob.length < 4 + type.length || blob.readUInt32BE(0) !== type.length || blob.toString('latin1', 4, 4 + type.length) !== type) return null
  offset = 4 + type.length
  for (let i = 0; i < 1 + SUBJECT_KEY_STRINGS[type]; i++) if (!skipString()) return null // nonce, subject key
  offset += 8 + 4 // serial, certificate type
  if (!skipString() || !skipString()) return null // key id, principals
  offset += 8 // valid after
  if (offset + 8 > blob.length) return null
  return Number(blob.readBigUInt64BE(offset))
}

/** The ssh-gen arguments (after `ssh-gen`) → true when a fresh certificate and its key are on disk. */
function hasFreshCertificate(args, env, home, nowMs) {
  let host
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (name !== '--hostname' && name !== '--server') return false
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i]
    if (value === undefined) return false
    if (name === '--hostname') {
      if (host !== undefined) return false
      host = value.toLowerCase()
    }
  }
  if (host === undefined || !HOST.test(host)) return false
  const jitsshHome = env.JITSSH_HOME !== undefined && env.JITSSH_HOME !== '' ? env.JITSSH_HOME : join(home, '.jitssh')
  const margin = env.JITSSH_CERT_MARGIN !== undefined && /^\d{1,6}$/.test(env.JITSSH_CERT_MARGIN) ? Number(env.JITSSH_CERT_MARGIN) : 60
  try {
    const validBefore = readValidBefore(readFileSync(join(jitsshHome, 'certs', `${host}-cert.pub`), 'utf8'))
    if (validBefore === null || validBefore * 1000 <= nowMs + margin * 1000) return false
    accessSync(join(jitsshHome, 'certs', host))
    return true
  } catch {
    return false
  }
}

module.exports = { hasFreshCertificate }

if (require.main === module) {
  const args = process.argv.slice(2)
  if (args[0] === 'ssh-gen' && hasFreshCertificate(args.slice(1), process.env, homedir(), Date.now())) {
    process.exitCode = 0
  } else {
    // The full CLI, exactly as `jitssh <args>`: bin/jitssh.js reads process.argv and sets the exit code.
    import('./jitssh.js')
  }
}
