"""The event store's DDL, as SQL, for migration 0002 and for the timeline benchmark.

Frozen at this shape (``_v1``): a later change comes as a new function called from a new
migration, never as an edit here.
"""

from __future__ import annotations

import re

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    return schema


def store_ddl_v1(schema: str) -> list[str]:
    """Statements creating the store, rejections, dead letters and replays in ``schema``.

    Raises:
        ValueError: ``schema`` is not a plain lower-case identifier.
    """
    s = _checked(schema)
    return [
        f"""
        CREATE TABLE {s}.stored_events (
            position bigint GENERATED ALWAYS AS IDENTITY,
            id uuid NOT NULL,
            type text NOT NULL,
            source text NOT NULL,
            subject text NOT NULL,
            time timestamptz NOT NULL,
            correlation_id text,
            traceparent text,
            dataschema text NOT NULL,
            data jsonb NOT NULL,
            referral_id text,
            stream text NOT NULL,
            stream_sequence bigint NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_stored_events PRIMARY KEY (position),
            CONSTRAINT uq_stored_events_id UNIQUE (id)
        )""",
        f"COMMENT ON TABLE {s}.stored_events IS "
        "'Every event consumed from every stream, once; append-only.'",
        # Filters of GET /v1/events, each ending in position (the page order).
        f"CREATE INDEX ix_stored_events_type_position ON {s}.stored_events (type, position)",
        f"CREATE INDEX ix_stored_events_source_position ON {s}.stored_events (source, position)",
        f"CREATE INDEX ix_stored_events_subject_position ON {s}.stored_events (subject, position)",
        f"CREATE INDEX ix_stored_events_correlation_id_position "
        f"ON {s}.stored_events (correlation_id, position)",
        f"CREATE INDEX ix_stored_events_time_position ON {s}.stored_events (time, position)",
        # The journey timeline: subject OR correlation id OR data.referral_id (BitmapOr).
        f"CREATE INDEX ix_stored_events_referral_id ON {s}.stored_events (referral_id) "
        f"WHERE referral_id IS NOT NULL",
        f"""
        CREATE TABLE {s}.rejected_events (
            position bigint GENERATED ALWAYS AS IDENTITY,
            event_id uuid,
            type text,
            source text,
            subject text,
            stream text NOT NULL,
            stream_sequence bigint NOT NULL,
            reasons jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_rejected_events PRIMARY KEY (position),
            CONSTRAINT uq_rejected_events_event_id UNIQUE (event_id)
        )""",
        f"COMMENT ON TABLE {s}.rejected_events IS "
        "'Events the store refused: where and why, never the values.'",
        f"""
        CREATE FUNCTION {s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$""",
        f"""
        CREATE FUNCTION {s}.notify_stored() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{s}_stored_events', '');
            RETURN NULL;
        END
        $$""",
        f"CREATE TRIGGER stored_events_append_only BEFORE UPDATE OR DELETE "
        f"ON {s}.stored_events FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()",
        f"CREATE TRIGGER stored_events_no_truncate BEFORE TRUNCATE "
        f"ON {s}.stored_events FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change()",
        f"CREATE TRIGGER stored_events_notify AFTER INSERT "
        f"ON {s}.stored_events FOR EACH STATEMENT EXECUTE FUNCTION {s}.notify_stored()",
        f"CREATE TRIGGER rejected_events_append_only BEFORE UPDATE OR DELETE "
        f"ON {s}.rejected_events FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change()",
        f"CREATE TRIGGER rejected_events_no_truncate BEFORE TRUNCATE "
        f"ON {s}.rejected_events FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change()",
        f"""
        CREATE TABLE {s}.consumer_dead_letters (
            id uuid NOT NULL DEFAULT gen_random_uuid(),
            advisory_id text NOT NULL,
            kind text NOT NULL,
            stream text NOT NULL,
            consumer text NOT NULL,
            stream_sequence bigint NOT NULL,
            deliveries integer,
            nats_subject text,
            event_id uuid,
            event_type text,
            event_subject text,
            error text,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            redelivered_at timestamptz,
            redelivered_by text,
            redelivered_sequence bigint,
            CONSTRAINT pk_consumer_dead_letters PRIMARY KEY (id),
            CONSTRAINT uq_consumer_dead_letters_advisory_id UNIQUE (advisory_id),
            CONSTRAINT uq_consumer_dead_letters_stream_consumer_stream_sequence
                UNIQUE (stream, consumer, stream_sequence)
        )""",
        f"CREATE INDEX ix_consumer_dead_letters_recorded_at "
        f"ON {s}.consumer_dead_letters (recorded_at, id)",
        f"""
        CREATE TABLE {s}.replays (
            id uuid NOT NULL,
            consumer text NOT NULL,
            subject_filter text NOT NULL,
            from_time timestamptz,
            to_time timestamptz,
            from_position bigint,
            to_position bigint,
            status text NOT NULL,
            published integer NOT NULL DEFAULT 0,
            last_position bigint,
            error text,
            requested_by text NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            CONSTRAINT pk_replays PRIMARY KEY (id),
            CONSTRAINT ck_replays_status CHECK (status IN ('pending', 'running', 'completed',
                                                          'failed'))
        )""",
        f"CREATE INDEX ix_replays_pending ON {s}.replays (requested_at) "
        f"WHERE status IN ('pending', 'running')",
    ]


def drop_store_ddl_v1(schema: str) -> list[str]:
    """Statements undoing :func:`store_ddl_v1`."""
    s = _checked(schema)
    return [
        f"DROP TABLE {s}.replays",
        f"DROP TABLE {s}.consumer_dead_letters",
        f"DROP TABLE {s}.rejected_events",
        f"DROP TABLE {s}.stored_events",
        f"DROP FUNCTION {s}.notify_stored()",
        f"DROP FUNCTION {s}.refuse_change()",
    ]
