/**
 * The PostgreSQL schema, applied in order inside one transaction (under an advisory lock, so replicas that
 * start together do not race) and recorded in jitssh_schema_migrations. Never edit a released migration:
 * add the next one.
 *
 * Same tables and columns as SQLite (times are Unix ms in BIGINT; identity, principals and audit detail are
 * JSON text, so the audit hash sees exactly the bytes it sealed), except the audit event's user column,
 * `user_email` (`user` is a reserved word in PostgreSQL). Columns compared as ranges or sorted (audit type
 * families, ISO times, serials, ids) use the "C" collation so they order by bytes as in SQLite, whatever
 * the database's locale.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        sub TEXT NOT NULL,
        email TEXT NOT NULL,
        identity TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_reason TEXT,
        client_ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX sessions_by_sub ON sessions (sub);
      CREATE INDEX sessions_by_email ON sessions (email);
      CREATE INDEX sessions_by_created ON sessions (created_at);
      CREATE INDEX sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

      CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE auth_codes (
        code_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        identity TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        session_id TEXT COLLATE "C" REFERENCES sessions (id)
      );

      CREATE TABLE device_codes (
        device_code_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        interval_seconds INTEGER NOT NULL,
        last_polled_at BIGINT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
        identity TEXT,
        decided_at BIGINT,
        requester_ip TEXT,
        requester_user_agent TEXT,
        session_id TEXT COLLATE "C" REFERENCES sessions (id)
      );

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

      CREATE TABLE certificates (
        serial TEXT COLLATE "C" PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        principals TEXT NOT NULL,
        key_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        valid_after BIGINT NOT NULL,
        valid_before BIGINT NOT NULL,
        issued_at BIGINT NOT NULL
      );
      CREATE INDEX certificates_by_session ON certificates (session_id);
      CREATE INDEX certificates_by_user ON certificates (user_email);
      CREATE INDEX certificates_by_valid_before ON certificates (valid_before);

      CREATE TABLE audit_events (
        seq BIGINT PRIMARY KEY,
        time TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        user_email TEXT,
        session_id TEXT,
        host TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_by_user ON audit_events (user_email, seq);
      CREATE INDEX audit_by_host ON audit_events (host, seq);
      CREATE INDEX audit_by_type ON audit_events (type, seq);
      CREATE INDEX audit_by_time ON audit_events (time, seq);
      CREATE FUNCTION jitssh_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;
      CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION jitssh_audit_events_append_only();
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION jitssh_audit_events_append_only();

      CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX login_failures_by_key ON login_failures (key, at);

      CREATE TABLE oidc_logins (
        id_hash TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        nonce TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE disabled_users (
        email TEXT PRIMARY KEY,
        disabled BOOLEAN NOT NULL,
        changed_at BIGINT NOT NULL,
        changed_by TEXT,
        reason TEXT
      );
    `,
  },
  {
    // The active-sessions gauge of /metrics counts sessions that have not ended: a range on expires_at.
    version: 2,
    sql: `
      CREATE INDEX sessions_by_expires ON sessions (expires_at);
    `,
  },
]
