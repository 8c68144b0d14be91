# ruff: noqa: S608  (constant SQL of a migration, no input reaches it)
"""Placements tables: provision types, provisions, academic terms, placement requests,
placements (offers hold a place), the zone and school read models, zone distances; and the two
invariants held by the database itself (see services/placements/docs/adr-capacity.md):

* ``placements_within_capacity`` (trigger on placements) and ``capacity_covers_places_held``
  (trigger on provisions): the places held at a provision on any day never exceed its capacity.
  Both serialise on the provision row, so the check is exact under concurrency;
* ``placements_child_no_overlap`` (trigger on placements, serialised on a transaction-scoped
  advisory lock keyed on the child): one child never holds two overlapping placements. Plain
  PL/pgSQL, no extension: the embedded PostgreSQL of ``make run``/``make test`` has none.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SCHEMA = "placements"
HOLDING = "('offered', 'accepted', 'active')"

# The most places held at one provision on one day over a set of candidate days: the count only
# rises on a start day, so the peak of a period falls on its first day or on a start day in it.
_PEAK_SQL = f"""
    SELECT d.day, count(*)::integer
      FROM ({{days}}) AS d(day)
      JOIN {SCHEMA}.placements q
        ON q.provision_id = {{provision}} AND q.status IN {HOLDING}
       AND q.start_date <= d.day AND q.planned_end >= d.day
     GROUP BY d.day
     ORDER BY count(*) DESC, d.day
     LIMIT 1
"""

CAPACITY_FUNCTIONS = f"""
CREATE FUNCTION {SCHEMA}.placements_within_capacity() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    allowed integer;
    peak integer;
    peak_day date;
BEGIN
    IF NEW.status NOT IN {HOLDING} THEN
        RETURN NULL;
    END IF;
    -- An UPDATE (not only a row lock) of the provision row: concurrent holds at one provision
    -- queue here; under READ COMMITTED the count below then sees every hold committed before
    -- (a fresh snapshot per statement), under REPEATABLE READ or SERIALIZABLE the second
    -- writer fails with a serialization error instead of missing the first one's hold.
    UPDATE {SCHEMA}.provisions SET holds_revision = holds_revision + 1
     WHERE id = NEW.provision_id
    RETURNING capacity INTO allowed;
    {_PEAK_SQL.format(
        days=f"SELECT NEW.start_date UNION SELECT p.start_date FROM {SCHEMA}.placements p "
             f"WHERE p.provision_id = NEW.provision_id AND p.status IN {HOLDING} "
             "AND p.start_date > NEW.start_date AND p.start_date <= NEW.planned_end",
        provision="NEW.provision_id")} INTO peak_day, peak;
    IF peak > allowed THEN
        RAISE EXCEPTION 'provision % would hold % places on %, over its capacity of %',
            NEW.provision_id, peak, peak_day, allowed
            USING ERRCODE = 'check_violation', CONSTRAINT = 'placements_within_capacity',
                  TABLE = 'placements', SCHEMA = '{SCHEMA}';
    END IF;
    RETURN NULL;
END
$fn$
-- statement --
CREATE TRIGGER placements_within_capacity
AFTER INSERT OR UPDATE OF status, start_date, planned_end, provision_id
ON {SCHEMA}.placements
FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.placements_within_capacity()
-- statement --
CREATE FUNCTION {SCHEMA}.capacity_covers_places_held() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    peak integer;
    peak_day date;
BEGIN
    IF NEW.capacity >= OLD.capacity THEN
        RETURN NULL;
    END IF;
    -- The provision row is locked by this very UPDATE: no hold can be added meanwhile.
    {_PEAK_SQL.format(
        days=f"SELECT DISTINCT p.start_date FROM {SCHEMA}.placements p "
             f"WHERE p.provision_id = NEW.id AND p.status IN {HOLDING}",
        provision="NEW.id")} INTO peak_day, peak;
    IF peak > NEW.capacity THEN
        RAISE EXCEPTION 'provision % holds % places on %, more than a capacity of %',
            NEW.id, peak, peak_day, NEW.capacity
            USING ERRCODE = 'check_violation', CONSTRAINT = 'capacity_covers_places_held',
                  TABLE = 'provisions', SCHEMA = '{SCHEMA}';
    END IF;
    RETURN NULL;
END
$fn$
-- statement --
CREATE TRIGGER capacity_covers_places_held
AFTER UPDATE OF capacity ON {SCHEMA}.provisions
FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.capacity_covers_places_held()
"""

# One child, one place at a time. Every writer of a hold for a child first takes the same
# advisory lock (two-int4 key space: a namespace, then the child's hash), held to the end of its
# transaction; under READ COMMITTED the overlap query then runs with a fresh snapshot and sees
# every hold of that child committed before. A hash collision only makes two children wait on
# each other, never lets an overlap through. REPEATABLE READ keeps the transaction's first
# snapshot, so the hold committed while it waited would stay unseen: refused outright
# (SERIALIZABLE is safe, its predicate locks turn the same race into a serialization failure).
CHILD_OVERLAP = f"""
CREATE FUNCTION {SCHEMA}.placements_child_no_overlap() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    other uuid;
BEGIN
    IF NEW.status NOT IN {HOLDING} THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'a placement that holds a place cannot be written under REPEATABLE READ'
            USING ERRCODE = 'feature_not_supported', TABLE = 'placements', SCHEMA = '{SCHEMA}',
                  HINT = 'Use READ COMMITTED (the default) or SERIALIZABLE.';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('{SCHEMA}.placements_child_no_overlap'),
                                  hashtext(NEW.child_id::text));
    SELECT p.id INTO other
      FROM {SCHEMA}.placements p
     WHERE p.child_id = NEW.child_id AND p.id <> NEW.id AND p.status IN {HOLDING}
       AND p.start_date <= NEW.planned_end AND p.planned_end >= NEW.start_date
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'placement % overlaps placement % held by the same child',
            NEW.id, other
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'placements_child_no_overlap',
                  TABLE = 'placements', SCHEMA = '{SCHEMA}';
    END IF;
    RETURN NULL;
END
$fn$
-- statement --
CREATE TRIGGER placements_child_no_overlap
AFTER INSERT OR UPDATE OF status, start_date, planned_end, child_id
ON {SCHEMA}.placements
FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.placements_child_no_overlap()
"""


def upgrade() -> None:
    op.create_table('academic_terms',
    sa.Column('academic_year', sa.String(length=7), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.CheckConstraint("name IN ('autumn', 'spring', 'summer')", name=op.f('ck_academic_terms_term_name')),
    sa.CheckConstraint('start_date <= end_date', name=op.f('ck_academic_terms_dates_in_order')),
    sa.PrimaryKeyConstraint('academic_year', 'name', name=op.f('pk_academic_terms')),
    schema='placements'
    )
    op.create_table('provision_types',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('max_stay_terms', sa.Integer(), nullable=False),
    sa.Column('programme_provisions', sa.Integer(), nullable=True),
    sa.Column('programme_places', sa.Integer(), nullable=True),
    sa.CheckConstraint('max_stay_terms >= 1', name=op.f('ck_provision_types_max_stay_positive')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_provision_types')),
    schema='placements'
    )
    op.create_table('schools',
    sa.Column('urn', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('phase', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=100), nullable=True),
    sa.Column('zone_id', sa.UUID(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('urn', name=op.f('pk_schools')),
    schema='placements'
    )
    op.create_table('zone_distances',
    sa.Column('zone_a', sa.UUID(), nullable=False),
    sa.Column('zone_b', sa.UUID(), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.CheckConstraint('distance >= 1', name=op.f('ck_zone_distances_distance_positive')),
    sa.CheckConstraint('zone_a < zone_b', name=op.f('ck_zone_distances_ordered_pair')),
    sa.PrimaryKeyConstraint('zone_a', 'zone_b', name=op.f('pk_zone_distances')),
    schema='placements'
    )
    op.create_table('zones',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zones')),
    schema='placements'
    )
    op.create_table('placement_requests',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=True),
    sa.Column('source_event_id', sa.UUID(), nullable=True),
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('home_school_urn', sa.String(length=6), nullable=False),
    sa.Column('zone_id', sa.UUID(), nullable=True),
    sa.Column('year_group', sa.String(length=3), nullable=False),
    sa.Column('needs', postgresql.ARRAY(sa.String(length=8)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('provision_type', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=40), nullable=False),
    sa.Column('requested_start', sa.Date(), nullable=False),
    sa.Column('requested_end', sa.Date(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('correlation_id', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('received', 'waiting', 'offered', 'placed', 'cancelled')", name=op.f('ck_placement_requests_status')),
    sa.CheckConstraint('requested_end IS NULL OR requested_end >= requested_start', name=op.f('ck_placement_requests_end_after_start')),
    sa.ForeignKeyConstraint(['provision_type'], ['placements.provision_types.code'], name=op.f('fk_placement_requests_provision_type_provision_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_requests')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_placement_requests_source_event_id')),
    schema='placements'
    )
    op.create_index('ix_placement_requests_child_id', 'placement_requests', ['child_id'], unique=False, schema='placements')
    op.create_index('ix_placement_requests_waiting', 'placement_requests', ['provision_type', 'requested_at'], unique=False, schema='placements', postgresql_where=sa.text("status = 'waiting'"))
    op.create_table('provisions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('provision_type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('zone_id', sa.UUID(), nullable=False),
    sa.Column('host_school_urn', sa.String(length=6), nullable=False),
    sa.Column('year_groups', postgresql.ARRAY(sa.String(length=3)), nullable=False),
    sa.Column('opening_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('holds_revision', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name=op.f('ck_provisions_closed_has_date')),
    sa.CheckConstraint("status IN ('planned', 'open', 'closed')", name=op.f('ck_provisions_status')),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_provisions_capacity_not_negative')),
    sa.CheckConstraint('cardinality(year_groups) >= 1', name=op.f('ck_provisions_serves_a_year_group')),
    sa.ForeignKeyConstraint(['provision_type'], ['placements.provision_types.code'], name=op.f('fk_provisions_provision_type_provision_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisions')),
    schema='placements'
    )
    op.create_table('placements',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('request_id', sa.UUID(), nullable=False),
    sa.Column('child_id', sa.UUID(), nullable=False),
    sa.Column('provision_id', sa.UUID(), nullable=False),
    sa.Column('provision_type', sa.String(length=16), nullable=False),
    sa.Column('home_school_urn', sa.String(length=6), nullable=False),
    sa.Column('zone_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('planned_end', sa.Date(), nullable=False),
    sa.Column('offered_on', sa.Date(), nullable=False),
    sa.Column('offer_expires_on', sa.Date(), nullable=False),
    sa.Column('agreement_given_by', sa.String(length=40), nullable=True),
    sa.Column('agreed_on', sa.Date(), nullable=True),
    sa.Column('agreement_recorded_by', sa.String(length=200), nullable=True),
    sa.Column('agreement_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('cancellation_reason', sa.String(length=16), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('offered', 'accepted', 'active', 'ended', 'declined', 'withdrawn', 'expired')", name=op.f('ck_placements_status')),
    sa.CheckConstraint('planned_end >= start_date', name=op.f('ck_placements_end_after_start')),
    sa.ForeignKeyConstraint(['provision_id'], ['placements.provisions.id'], name=op.f('fk_placements_provision_id_provisions')),
    sa.ForeignKeyConstraint(['request_id'], ['placements.placement_requests.id'], name=op.f('fk_placements_request_id_placement_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placements')),
    schema='placements'
    )
    op.create_index('ix_placements_home_school_urn', 'placements', ['home_school_urn'], unique=False, schema='placements')
    op.create_index('ix_placements_offer_due', 'placements', ['offer_expires_on'], unique=False, schema='placements', postgresql_where=sa.text("status = 'offered'"))
    op.create_index('ix_placements_provision_holding', 'placements', ['provision_id', 'start_date'], unique=False, schema='placements', postgresql_where=sa.text("status IN ('offered', 'accepted', 'active')"))
    op.create_index('ix_placements_request_id', 'placements', ['request_id'], unique=False, schema='placements')
    op.create_index('ix_placements_child_holding', 'placements', ['child_id', 'start_date'], unique=False, schema='placements', postgresql_where=sa.text("status IN ('offered', 'accepted', 'active')"))
    for statement in (*CHILD_OVERLAP.split("-- statement --"),
                      *CAPACITY_FUNCTIONS.split("-- statement --")):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS capacity_covers_places_held ON placements.provisions")
    op.execute("DROP TRIGGER IF EXISTS placements_within_capacity ON placements.placements")
    op.execute("DROP FUNCTION IF EXISTS placements.capacity_covers_places_held()")
    op.execute("DROP FUNCTION IF EXISTS placements.placements_within_capacity()")
    op.execute("DROP TRIGGER IF EXISTS placements_child_no_overlap ON placements.placements")
    op.execute("DROP FUNCTION IF EXISTS placements.placements_child_no_overlap()")
    op.drop_index('ix_placements_child_holding', table_name='placements', schema='placements', postgresql_where=sa.text("status IN ('offered', 'accepted', 'active')"))
    op.drop_index('ix_placements_request_id', table_name='placements', schema='placements')
    op.drop_index('ix_placements_provision_holding', table_name='placements', schema='placements', postgresql_where=sa.text("status IN ('offered', 'accepted', 'active')"))
    op.drop_index('ix_placements_offer_due', table_name='placements', schema='placements', postgresql_where=sa.text("status = 'offered'"))
    op.drop_index('ix_placements_home_school_urn', table_name='placements', schema='placements')
    op.drop_table('placements', schema='placements')
    op.drop_table('provisions', schema='placements')
    op.drop_index('ix_placement_requests_waiting', table_name='placement_requests', schema='placements', postgresql_where=sa.text("status = 'waiting'"))
    op.drop_index('ix_placement_requests_child_id', table_name='placement_requests', schema='placements')
    op.drop_table('placement_requests', schema='placements')
    op.drop_table('zones', schema='placements')
    op.drop_table('zone_distances', schema='placements')
    op.drop_table('schools', schema='placements')
    op.drop_table('provision_types', schema='placements')
    op.drop_table('academic_terms', schema='placements')
