"""The messaging tables every service's database has: the outbox and the processed-events
record that makes consumers idempotent.

Each version is a tuple of single statements (Alembic runs them as prepared statements, one
at a time), and a frozen snapshot that a service's migration applies (``op.execute``); a change
is a new constant (V2_...) applied by a new migration, never an edit of an old one.
"""

OUTBOX_CHANNEL = "punchcard_outbox"
OUTBOX_SHARDS = 16

V1_UP: tuple[str, ...] = (
    f"""
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shard       smallint    NOT NULL CHECK (shard >= 0 AND shard < {OUTBOX_SHARDS}),
    topic       text        NOT NULL,
    key         bytea,
    value       bytea,
    headers     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    event_id    uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
)""",
    "CREATE INDEX outbox_shard_id ON outbox (shard, id)",
    # One notification per inserting statement wakes the relays; they never poll fast.
    f"""
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
    RETURN NULL;
END $$""",
    """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()""",
    """
CREATE TABLE processed_events (
    consumer_group text        NOT NULL,
    event_id       uuid        NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
)""",
    "CREATE INDEX processed_events_processed_at ON processed_events (processed_at)",
)

V1_DOWN: tuple[str, ...] = (
    "DROP TABLE processed_events",
    "DROP TRIGGER outbox_notify ON outbox",
    "DROP FUNCTION outbox_notify()",
    "DROP TABLE outbox",
)
