import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { JitsshError } from '../../shared/errors.js'
import type { ServerConfig } from './types.js'

/** PEM files larger than this are not a certificate chain or a key. */
const MAX_PEM_BYTES = 1024 * 1024

/**
 * `tls.cert` and `tls.key` as the server reads them at start, checked when the config is loaded (so `check`
 * says what is wrong, with the key): each a regular file of PEM, a certificate and the private key that
 * belongs to it. Errors name the config file, the key and the problem.
 */
export function checkTlsFiles(config: ServerConfig): void {
  if (!config.tls) return
  const { cert: certPath, key: keyPath } = config.tls
  const fail = (key: 'cert' | 'key', problem: string): never => {
    throw new JitsshError('ERR_INVALID_CONFIG', `${config.source}: tls.${key}: ${problem}`)
  }
  const certPem = readPemFile(certPath, (problem) => fail('cert', problem))
  let certificate: X509Certificate | undefined
  try {
    if (/-----BEGIN CERTIFICATE-----/.test(certPem.toString('latin1'))) certificate = new X509Certificate(certPem)
  } catch {
    certificate = undefined
  }
  if (!certificate) fail('cert', `${certPath} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`)
  const keyBytes = readPemFile(keyPath, (problem) => fail('key', problem))
  let key: KeyObject | undefined
  try {
    key = createPrivateKey({ key: keyBytes, format: 'pem' })
  } catch (error) {
    const encrypted = (error as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE' || /-----BEGIN (ENCRYPTED PRIVATE KEY|[A-Z ]+ PRIVATE KEY-----\r?\nProc-Type: 4,ENCRYPTED)/.test(keyBytes.toString('latin1'))
    fail('key', encrypted ? `${keyPath} is an encrypted private key (the server cannot ask for its passphrase)` : `${keyPath} is not a PEM private key`)
  }
  if (!certificate!.checkPrivateKey(key!)) fail('key', `${keyPath} is not the private key of the certificate in tls.cert (${certificate!.subject.replace(/\n/g, ', ')})`)
}

/**
 * A small regular file's bytes; `fail` with the reason otherwise. Opened non-blocking and checked before it
 * is read, so that a FIFO or a device (/dev/zero) named by mistake fails at once instead of hanging or
 * filling memory.
 */
function readPemFile(path: string, fail: (problem: string) => never): Buffer {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return fail(`cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`)
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return fail(`${path} is not a regular file`)
    if (stat.size > MAX_PEM_BYTES) return fail(`${path} is larger than ${MAX_PEM_BYTES / 1024} KiB: not a PEM file`)
    return readFileSync(fd)
  } finally {
    closeSync(fd)
  }
}
