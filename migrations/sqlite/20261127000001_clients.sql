-- The client registry of tower-client-credentials (SqlClientStore). Times are Unix seconds.
CREATE TABLE clients (
    id               TEXT PRIMARY KEY NOT NULL,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    -- NULL: the issuer's default token lifetime.
    token_ttl_secs   BIGINT,
    -- NULL: the first audience.
    default_audience TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- Hashes only (`sha256:<hex>` or an Argon2id PHC string), never plaintext.
CREATE TABLE client_secrets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    -- Refused from this second on; NULL: never expires.
    not_after  BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Public keys for private_key_jwt, one JWK (JSON) per row.
CREATE TABLE client_keys (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    jwk       TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);

CREATE TABLE client_scopes (
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    -- Granted when a request names no scope.
    is_default BOOLEAN NOT NULL,
    PRIMARY KEY (client_id, scope)
);

CREATE TABLE client_audiences (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    audience  TEXT NOT NULL,
    PRIMARY KEY (client_id, position)
);

-- RFC 8414 names: client_secret_basic, client_secret_post, private_key_jwt.
CREATE TABLE client_auth_methods (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    method    TEXT NOT NULL,
    PRIMARY KEY (client_id, method)
);
