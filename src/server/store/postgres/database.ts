import pg from 'pg'
import type { DbRow } from '../row-mappers.js'
import { assertStorable } from '../storable.js'

/** A row as node-postgres returns it: snake_case columns; BIGINT arrives as a decimal string. */
type PgRow = DbRow

/** A connection inside `transaction()`: queries whose parameters are checked (storable.ts) like every other. */
export interface TransactionClient {
  query<R extends pg.QueryResultRow = PgRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>
}

/** What the PostgreSQL role implementations need from the pool: one-shot queries and transactions. */
export class PostgresDatabase {
  readonly pool: pg.Pool

  constructor(readonly config: pg.PoolConfig) {
    this.pool = new pg.Pool(config)
    // An idle client whose connection dropped reports here; the pool replaces it on the next checkout,
    // and the query that needs it fails with the real cause. Without a listener the process would exit.
    this.pool.on('error', () => undefined)
  }

  async query(text: string, params: unknown[] = []): Promise<pg.QueryResult<PgRow>> {
    assertStorable(params)
    return this.pool.query<PgRow>(text, params)
  }

  async rows(text: string, params: unknown[] = []): Promise<PgRow[]> {
    return (await this.query(text, params)).rows
  }

  /**
   * Runs `run` inside one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws.
   * `begin` is the opening statement(s), sent in one round trip (e.g. BEGIN plus a lock); its results go
   * to `run`. A connection that failed mid-way is discarded instead of going back to the pool.
   */
  async transaction<T>(run: (client: TransactionClient, opened: pg.QueryResult<PgRow>[]) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await this.pool.connect()
    let broken: Error | undefined
    const checked: TransactionClient = {
      query: <R extends pg.QueryResultRow>(text: string, params: unknown[] = []) => {
        assertStorable(params)
        return client.query<R>(text, params)
      },
    }
    try {
      const opened = (await client.query<PgRow>(begin)) as pg.QueryResult<PgRow> | pg.QueryResult<PgRow>[]
      const result = await run(checked, Array.isArray(opened) ? opened : [opened])
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => void (broken = rollbackError))
      throw error
    } finally {
      client.release(broken)
    }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}
