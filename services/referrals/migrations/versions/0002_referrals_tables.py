"""Referrals tables: zones, schools, referrals, placement and Element 3 requests, case notes,
access log, phoneline contacts. Case notes and the access log are append-only (triggers).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Case notes are append-only: no delete, and an update only to blank the text on anonymisation.
# The access log is append-only: no update; deletes only for retention.
APPEND_ONLY = (
    """
    CREATE FUNCTION referrals.case_notes_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'case notes are append-only';
        END IF;
        IF NEW.body IS NOT NULL OR NEW.redacted_at IS NULL OR NEW.id <> OLD.id
           OR NEW.referral_id <> OLD.referral_id OR NEW.author <> OLD.author
           OR NEW.author_role <> OLD.author_role OR NEW.created_at <> OLD.created_at THEN
            RAISE EXCEPTION 'case notes are append-only (only anonymisation may blank the text)';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER case_notes_append_only BEFORE UPDATE OR DELETE ON referrals.case_notes
    FOR EACH ROW EXECUTE FUNCTION referrals.case_notes_append_only()
    """,
    """
    CREATE FUNCTION referrals.access_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the access log is append-only';
    END $$
    """,
    """
    CREATE TRIGGER access_log_append_only BEFORE UPDATE ON referrals.access_log
    FOR EACH ROW EXECUTE FUNCTION referrals.access_log_append_only()
    """,
)
DROP_APPEND_ONLY = (
    "DROP TRIGGER IF EXISTS access_log_append_only ON referrals.access_log",
    "DROP FUNCTION IF EXISTS referrals.access_log_append_only()",
    "DROP TRIGGER IF EXISTS case_notes_append_only ON referrals.case_notes",
    "DROP FUNCTION IF EXISTS referrals.case_notes_append_only()",
)


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('roles', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('operation', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('child_id', sa.Uuid(), nullable=True),
    sa.Column('request_id', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log')),
    schema='referrals'
    )
    op.create_index('ix_access_log_at', 'access_log', ['at', 'id'], unique=False, schema='referrals')
    op.create_index(op.f('ix_access_log_child_id'), 'access_log', ['child_id'], unique=False, schema='referrals')
    op.create_index(op.f('ix_access_log_referral_id'), 'access_log', ['referral_id'], unique=False, schema='referrals')
    op.create_table('zones',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zones')),
    sa.UniqueConstraint('code', name=op.f('uq_zones_code')),
    schema='referrals'
    )
    op.create_table('schools',
    sa.Column('urn', sa.Text(), nullable=False),
    sa.Column('laestab', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('establishment_type', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('phase', sa.Text(), nullable=True),
    sa.Column('statutory_low_age', sa.Integer(), nullable=True),
    sa.Column('statutory_high_age', sa.Integer(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('number_of_pupils', sa.Integer(), nullable=True),
    sa.Column('zone_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['zone_id'], ['referrals.zones.id'], name=op.f('fk_schools_zone_id_zones')),
    sa.PrimaryKeyConstraint('urn', name=op.f('pk_schools')),
    sa.UniqueConstraint('laestab', name=op.f('uq_schools_laestab')),
    schema='referrals'
    )
    op.create_index(op.f('ix_schools_zone_id'), 'schools', ['zone_id'], unique=False, schema='referrals')
    op.create_table('referrals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('school_urn', sa.Text(), nullable=False),
    sa.Column('zone_id', sa.Uuid(), nullable=False),
    sa.Column('subject_kind', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=True),
    sa.Column('child_given_name', sa.Text(), nullable=True),
    sa.Column('child_family_name', sa.Text(), nullable=True),
    sa.Column('child_date_of_birth', sa.Date(), nullable=True),
    sa.Column('child_upn', sa.Text(), nullable=True),
    sa.Column('sen_provision', sa.Text(), nullable=True),
    sa.Column('primary_need', sa.Text(), nullable=True),
    sa.Column('secondary_need', sa.Text(), nullable=True),
    sa.Column('exclusions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('year_groups', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('needs', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('cohort_description', sa.Text(), nullable=True),
    sa.Column('cohort_pupil_count', sa.Integer(), nullable=True),
    sa.Column('focus_area', sa.Text(), nullable=True),
    sa.Column('concerns', sa.Text(), nullable=True),
    sa.Column('already_tried', sa.Text(), nullable=True),
    sa.Column('support_requested', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('parental_agreement_by', sa.Text(), nullable=True),
    sa.Column('parental_agreement_on', sa.Date(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('triage_due_on', sa.Date(), nullable=True),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('triaged_by', sa.Uuid(), nullable=True),
    sa.Column('assigned_practitioner_id', sa.Uuid(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_level', sa.Text(), nullable=True),
    sa.Column('plan_focus', sa.Text(), nullable=True),
    sa.Column('plan_actions', sa.ARRAY(sa.Text()), nullable=True),
    sa.Column('plan_practitioner_id', sa.Uuid(), nullable=True),
    sa.Column('plan_ep_hours', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('plan_review_on', sa.Date(), nullable=True),
    sa.Column('support_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closure_outcome', sa.Text(), nullable=True),
    sa.Column('closure_note', sa.Text(), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('decline_note', sa.Text(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('withdrawal_note', sa.Text(), nullable=True),
    sa.Column('withdrawn_by', sa.Text(), nullable=True),
    sa.Column('shown_placement', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('shown_funding', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['school_urn'], ['referrals.schools.urn'], name=op.f('fk_referrals_school_urn_schools')),
    sa.ForeignKeyConstraint(['zone_id'], ['referrals.zones.id'], name=op.f('fk_referrals_zone_id_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    schema='referrals'
    )
    op.create_index(op.f('ix_referrals_child_id'), 'referrals', ['child_id'], unique=False, schema='referrals')
    op.create_index(op.f('ix_referrals_child_upn'), 'referrals', ['child_upn'], unique=False, schema='referrals')
    op.create_index('ix_referrals_created', 'referrals', ['created_at', 'id'], unique=False, schema='referrals')
    op.create_index('ix_referrals_school_created', 'referrals', ['school_urn', 'created_at', 'id'], unique=False, schema='referrals')
    op.create_index('ix_referrals_zone_status', 'referrals', ['zone_id', 'status'], unique=False, schema='referrals')
    op.create_table('case_notes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('author', sa.Text(), nullable=False),
    sa.Column('author_role', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.referrals.id'], name=op.f('fk_case_notes_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes')),
    schema='referrals'
    )
    op.create_index('ix_case_notes_referral_created', 'case_notes', ['referral_id', 'created_at', 'id'], unique=False, schema='referrals')
    op.create_table('element3_reviews',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('amount_requested_pence', sa.Integer(), nullable=True),
    sa.Column('focus', sa.Text(), nullable=True),
    sa.Column('needs_profile', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.referrals.id'], name=op.f('fk_element3_reviews_referral_id_referrals')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_element3_reviews')),
    schema='referrals'
    )
    op.create_index(op.f('ix_element3_reviews_referral_id'), 'element3_reviews', ['referral_id'], unique=False, schema='referrals')
    op.create_table('phoneline_contacts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('caller_type', sa.Text(), nullable=False),
    sa.Column('school_urn', sa.Text(), nullable=True),
    sa.Column('zone_id', sa.Uuid(), nullable=True),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('advice_given', sa.Text(), nullable=True),
    sa.Column('follow_up', sa.Text(), nullable=True),
    sa.Column('follow_up_by', sa.Date(), nullable=True),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.referrals.id'], name=op.f('fk_phoneline_contacts_referral_id_referrals')),
    sa.ForeignKeyConstraint(['school_urn'], ['referrals.schools.urn'], name=op.f('fk_phoneline_contacts_school_urn_schools')),
    sa.ForeignKeyConstraint(['zone_id'], ['referrals.zones.id'], name=op.f('fk_phoneline_contacts_zone_id_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phoneline_contacts')),
    schema='referrals'
    )
    op.create_index('ix_phoneline_contacts_received', 'phoneline_contacts', ['received_at', 'id'], unique=False, schema='referrals')
    op.create_table('placement_requests',
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('provision_type', sa.Text(), nullable=False),
    sa.Column('priority', sa.Text(), nullable=False),
    sa.Column('requested_start', sa.Date(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.referrals.id'], name=op.f('fk_placement_requests_referral_id_referrals')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_placement_requests')),
    schema='referrals'
    )
    op.create_index(op.f('ix_placement_requests_referral_id'), 'placement_requests', ['referral_id'], unique=False, schema='referrals')
    for statement in APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_APPEND_ONLY:
        op.execute(statement)
    op.drop_index(op.f('ix_placement_requests_referral_id'), table_name='placement_requests', schema='referrals')
    op.drop_table('placement_requests', schema='referrals')
    op.drop_index('ix_phoneline_contacts_received', table_name='phoneline_contacts', schema='referrals')
    op.drop_table('phoneline_contacts', schema='referrals')
    op.drop_index(op.f('ix_element3_reviews_referral_id'), table_name='element3_reviews', schema='referrals')
    op.drop_table('element3_reviews', schema='referrals')
    op.drop_index('ix_case_notes_referral_created', table_name='case_notes', schema='referrals')
    op.drop_table('case_notes', schema='referrals')
    op.drop_index('ix_referrals_zone_status', table_name='referrals', schema='referrals')
    op.drop_index('ix_referrals_school_created', table_name='referrals', schema='referrals')
    op.drop_index('ix_referrals_created', table_name='referrals', schema='referrals')
    op.drop_index(op.f('ix_referrals_child_upn'), table_name='referrals', schema='referrals')
    op.drop_index(op.f('ix_referrals_child_id'), table_name='referrals', schema='referrals')
    op.drop_table('referrals', schema='referrals')
    op.drop_index(op.f('ix_schools_zone_id'), table_name='schools', schema='referrals')
    op.drop_table('schools', schema='referrals')
    op.drop_table('zones', schema='referrals')
    op.drop_index(op.f('ix_access_log_referral_id'), table_name='access_log', schema='referrals')
    op.drop_index(op.f('ix_access_log_child_id'), table_name='access_log', schema='referrals')
    op.drop_index('ix_access_log_at', table_name='access_log', schema='referrals')
    op.drop_table('access_log', schema='referrals')
