/**
 * The signing figure's baseline (DESIGN.md: "a baseline endpoint on the same HTTP stack that performs the same
 * Ed25519 signature"): a bare fastify server, in its own process, whose one endpoint `POST /sign` reads the same
 * JSON request as `POST /v1/ssh/sign` ({public_key, hostname}), signs a payload of the size of a certificate's
 * signed part with an Ed25519 key (node:crypto, as the user CA does) and answers JSON of a certificate answer's
 * shape and size. No authentication, policy, storage, audit or logging: what is left is the HTTP stack and the
 * curve, so the sign figure's ratio is jitssh's own overhead. Nothing of it ships in the product.
 *
 *   node --import tsx bench/sign-baseline.ts <payload-bytes>     prints {"url": ...} on stdout once listening
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import Fastify from 'fastify'

const payloadBytes = Number(process.argv[2] ?? 300)
if (!Number.isInteger(payloadBytes) || payloadBytes < 64 || payloadBytes > 16_384) throw new Error(`payload size ${process.argv[2]}: expected 64..16384 bytes`)

const { privateKey } = generateKeyPairSync('ed25519')
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 })

app.post<{ Body: { public_key?: unknown; hostname?: unknown } }>('/sign', async (request, reply) => {
  const { public_key: publicKey, hostname } = request.body ?? {}
  if (typeof publicKey !== 'string' || typeof hostname !== 'string') return reply.code(400).send({ error: 'ERR_BAD_REQUEST' })
  // The signed part of a certificate: nonce, the subject key, serial, ids, principals, validity, options, CA key.
  const payload = Buffer.alloc(payloadBytes)
  const key = Buffer.from(publicKey.split(' ')[1] ?? '', 'base64')
  randomBytes(32).copy(payload, 0)
  key.copy(payload, 32, 0, Math.min(key.length, payloadBytes - 32))
  const signature = sign(null, payload, privateKey)
  const now = Date.now()
  return {
    certificate: `ssh-ed25519-cert-v01@openssh.com ${Buffer.concat([payload, signature]).toString('base64')} baseline@${hostname}`,
    serial: randomBytes(8).readBigUInt64BE().toString(),
    key_id: `baseline:${hostname}`,
    principals: ['baseline'],
    valid_after: new Date(now - 60_000).toISOString(),
    valid_before: new Date(now + 3_600_000).toISOString(),
  }
})

const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)))
