"""Funding tables: budgets, formula, allocations, school read model, applications, panels,
decisions, commitments, payment schedules, instalments and payment runs.

The CHECK ``ck_budgets_committed_within_cohort`` holds the budget invariant in the database.

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


def upgrade() -> None:
    op.create_table('academic_terms',
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.Column('academic_year', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('payment_on', sa.Date(), nullable=False),
    sa.CheckConstraint("term IN ('autumn', 'spring', 'summer')", name=op.f('ck_academic_terms_term_known')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_academic_terms_ends_after_start')),
    sa.PrimaryKeyConstraint('financial_year', 'term', name=op.f('pk_academic_terms')),
    schema='funding'
    )
    op.create_table('allocation_publications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('formula_version', sa.Integer(), nullable=False),
    sa.Column('block_pence', sa.BigInteger(), nullable=False),
    sa.Column('total_points', sa.Numeric(), nullable=False),
    sa.Column('schools', sa.Integer(), nullable=False),
    sa.Column('published_by', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_publications')),
    sa.UniqueConstraint('financial_year', 'version', name=op.f('uq_allocation_publications_financial_year_version')),
    schema='funding'
    )
    op.create_table('budgets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('formula_block_pence', sa.BigInteger(), nullable=False),
    sa.Column('cohort_block_pence', sa.BigInteger(), nullable=False),
    sa.Column('committed_pence', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('illustrative', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status = 'draft' OR approved_on IS NOT NULL", name=op.f('ck_budgets_approved_has_date')),
    sa.CheckConstraint("status IN ('draft', 'approved')", name=op.f('ck_budgets_status_known')),
    sa.CheckConstraint('cohort_block_pence >= 0', name=op.f('ck_budgets_cohort_block_non_negative')),
    sa.CheckConstraint('committed_pence <= cohort_block_pence', name=op.f('ck_budgets_committed_within_cohort')),
    sa.CheckConstraint('committed_pence >= 0', name=op.f('ck_budgets_committed_non_negative')),
    sa.CheckConstraint('formula_block_pence >= 0', name=op.f('ck_budgets_formula_block_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets')),
    sa.UniqueConstraint('financial_year', name=op.f('uq_budgets_financial_year')),
    sa.UniqueConstraint('start_year', name=op.f('uq_budgets_start_year')),
    schema='funding'
    )
    op.create_table('formula_input_imports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula_input_imports')),
    schema='funding'
    )
    op.create_index(op.f('ix_formula_input_imports_financial_year'), 'formula_input_imports', ['financial_year'], unique=False, schema='funding')
    op.create_table('formula_versions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('factors', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_formula_versions')),
    sa.UniqueConstraint('financial_year', 'version', name=op.f('uq_formula_versions_financial_year_version')),
    schema='funding'
    )
    op.create_table('panels',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('meeting_on', sa.Date(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panels')),
    schema='funding'
    )
    op.create_index(op.f('ix_panels_meeting_on'), 'panels', ['meeting_on'], unique=False, schema='funding')
    op.create_table('payment_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.Column('run_on', sa.Date(), nullable=False),
    sa.Column('total_pence', sa.BigInteger(), nullable=False),
    sa.Column('instalments', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("term IN ('autumn', 'spring', 'summer')", name=op.f('ck_payment_runs_term_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_runs')),
    schema='funding'
    )
    op.create_index(op.f('ix_payment_runs_financial_year'), 'payment_runs', ['financial_year'], unique=False, schema='funding')
    op.create_table('schools',
    sa.Column('urn', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('laestab', sa.Text(), nullable=True),
    sa.Column('phase', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('zone_id', sa.Uuid(), nullable=True),
    sa.Column('number_of_pupils', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, comment='Time of the event the row was last set from.'),
    sa.PrimaryKeyConstraint('urn', name=op.f('pk_schools')),
    schema='funding'
    )
    op.create_index(op.f('ix_schools_zone_id'), 'schools', ['zone_id'], unique=False, schema='funding')
    op.create_table('zones',
    sa.Column('zone_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('zone_id', name=op.f('pk_zones')),
    schema='funding'
    )
    op.create_table('applications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('school_urn', sa.Text(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('needs_profile', sa.Text(), nullable=True),
    sa.Column('provision_map_summary', sa.Text(), nullable=True),
    sa.Column('planned_approach', sa.Text(), nullable=True),
    sa.Column('cohort_size', sa.Integer(), nullable=True),
    sa.Column('amount_requested_pence', sa.BigInteger(), nullable=True),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('review_request_id', sa.Uuid(), nullable=True, comment='The TAS Element 3 review request that opened it, if any.'),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('panel_id', sa.Uuid(), nullable=True),
    sa.Column('panel_date', sa.Date(), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('opened_by', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("scope IN ('cohort', 'whole_school')", name=op.f('ck_applications_scope_known')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'on_agenda', 'approved', 'part_approved', 'declined', 'withdrawn')", name=op.f('ck_applications_status_known')),
    sa.CheckConstraint('amount_requested_pence IS NULL OR amount_requested_pence > 0', name=op.f('ck_applications_amount_requested_positive')),
    sa.ForeignKeyConstraint(['panel_id'], ['funding.panels.id'], name=op.f('fk_applications_panel_id_panels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('review_request_id', name=op.f('uq_applications_review_request_id')),
    schema='funding'
    )
    op.create_index(op.f('ix_applications_financial_year'), 'applications', ['financial_year'], unique=False, schema='funding')
    op.create_index(op.f('ix_applications_panel_id'), 'applications', ['panel_id'], unique=False, schema='funding')
    op.create_index(op.f('ix_applications_referral_id'), 'applications', ['referral_id'], unique=False, schema='funding')
    op.create_index('ix_applications_school_urn_created_at', 'applications', ['school_urn', 'created_at'], unique=False, schema='funding')
    op.create_index(op.f('ix_applications_status'), 'applications', ['status'], unique=False, schema='funding')
    op.create_table('budget_adjustments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('budget_id', sa.Uuid(), nullable=False),
    sa.Column('block', sa.Text(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('made_on', sa.Date(), nullable=False),
    sa.Column('made_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("block IN ('formula', 'cohort')", name=op.f('ck_budget_adjustments_block_known')),
    sa.CheckConstraint('amount_pence <> 0', name=op.f('ck_budget_adjustments_amount_non_zero')),
    sa.CheckConstraint('length(btrim(reason)) > 0', name=op.f('ck_budget_adjustments_reason_given')),
    sa.ForeignKeyConstraint(['budget_id'], ['funding.budgets.id'], name=op.f('fk_budget_adjustments_budget_id_budgets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_adjustments')),
    schema='funding'
    )
    op.create_index(op.f('ix_budget_adjustments_budget_id'), 'budget_adjustments', ['budget_id'], unique=False, schema='funding')
    op.create_table('school_allocations',
    sa.Column('publication_id', sa.Uuid(), nullable=False),
    sa.Column('urn', sa.Text(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.Numeric(), nullable=False),
    sa.Column('factors', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.CheckConstraint('amount_pence >= 0', name=op.f('ck_school_allocations_amount_non_negative')),
    sa.ForeignKeyConstraint(['publication_id'], ['funding.allocation_publications.id'], name=op.f('fk_school_allocations_publication_id_allocation_publications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('publication_id', 'urn', name=op.f('pk_school_allocations')),
    schema='funding'
    )
    op.create_table('school_formula_inputs',
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('urn', sa.Text(), nullable=False),
    sa.Column('pupils_on_roll', sa.Integer(), nullable=False),
    sa.Column('measures', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('import_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('pupils_on_roll >= 0', name=op.f('ck_school_formula_inputs_roll_non_negative')),
    sa.ForeignKeyConstraint(['import_id'], ['funding.formula_input_imports.id'], name=op.f('fk_school_formula_inputs_import_id_formula_input_imports')),
    sa.PrimaryKeyConstraint('financial_year', 'urn', name=op.f('pk_school_formula_inputs')),
    schema='funding'
    )
    op.create_table('commitments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('budget_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('committed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount_pence > 0', name=op.f('ck_commitments_amount_positive')),
    sa.ForeignKeyConstraint(['application_id'], ['funding.applications.id'], name=op.f('fk_commitments_application_id_applications')),
    sa.ForeignKeyConstraint(['budget_id'], ['funding.budgets.id'], name=op.f('fk_commitments_budget_id_budgets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    sa.UniqueConstraint('application_id', name=op.f('uq_commitments_application_id')),
    schema='funding'
    )
    op.create_index(op.f('ix_commitments_budget_id'), 'commitments', ['budget_id'], unique=False, schema='funding')
    op.create_table('decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('panel_id', sa.Uuid(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('approved', 'part_approved', 'declined')", name=op.f('ck_decisions_outcome_known')),
    sa.CheckConstraint('amount_pence >= 0', name=op.f('ck_decisions_amount_non_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['funding.applications.id'], name=op.f('fk_decisions_application_id_applications')),
    sa.ForeignKeyConstraint(['panel_id'], ['funding.panels.id'], name=op.f('fk_decisions_panel_id_panels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('application_id', name=op.f('uq_decisions_application_id')),
    schema='funding'
    )
    op.create_index(op.f('ix_decisions_panel_id'), 'decisions', ['panel_id'], unique=False, schema='funding')
    op.create_table('panel_agenda_items',
    sa.Column('panel_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['funding.applications.id'], name=op.f('fk_panel_agenda_items_application_id_applications')),
    sa.ForeignKeyConstraint(['panel_id'], ['funding.panels.id'], name=op.f('fk_panel_agenda_items_panel_id_panels')),
    sa.PrimaryKeyConstraint('panel_id', 'application_id', name=op.f('pk_panel_agenda_items')),
    schema='funding'
    )
    op.create_index(op.f('ix_panel_agenda_items_application_id'), 'panel_agenda_items', ['application_id'], unique=False, schema='funding')
    op.create_table('payment_schedules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('school_urn', sa.Text(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=True),
    sa.Column('publication_id', sa.Uuid(), nullable=True),
    sa.Column('total_pence', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'award') = (application_id IS NOT NULL)", name=op.f('ck_payment_schedules_award_has_app')),
    sa.CheckConstraint("kind IN ('award', 'formula')", name=op.f('ck_payment_schedules_kind_known')),
    sa.CheckConstraint('total_pence >= 0', name=op.f('ck_payment_schedules_total_non_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['funding.applications.id'], name=op.f('fk_payment_schedules_application_id_applications')),
    sa.ForeignKeyConstraint(['publication_id'], ['funding.allocation_publications.id'], name=op.f('fk_payment_schedules_publication_id_allocation_publications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_schedules')),
    sa.UniqueConstraint('application_id', name=op.f('uq_payment_schedules_application_id')),
    schema='funding'
    )
    op.create_index(op.f('ix_payment_schedules_publication_id'), 'payment_schedules', ['publication_id'], unique=False, schema='funding')
    op.create_index('ix_payment_schedules_year_urn', 'payment_schedules', ['financial_year', 'school_urn'], unique=False, schema='funding')
    op.create_table('instalments',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('financial_year', sa.Text(), nullable=False),
    sa.Column('school_urn', sa.Text(), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('payment_run_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("term IN ('autumn', 'spring', 'summer')", name=op.f('ck_instalments_term_known')),
    sa.CheckConstraint('amount_pence >= 0', name=op.f('ck_instalments_amount_non_negative')),
    sa.ForeignKeyConstraint(['payment_run_id'], ['funding.payment_runs.id'], name=op.f('fk_instalments_payment_run_id_payment_runs')),
    sa.ForeignKeyConstraint(['schedule_id'], ['funding.payment_schedules.id'], name=op.f('fk_instalments_schedule_id_payment_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instalments')),
    sa.UniqueConstraint('schedule_id', 'term', name=op.f('uq_instalments_schedule_id_term')),
    schema='funding'
    )
    op.create_index(op.f('ix_instalments_payment_run_id'), 'instalments', ['payment_run_id'], unique=False, schema='funding')
    op.create_index(op.f('ix_instalments_schedule_id'), 'instalments', ['schedule_id'], unique=False, schema='funding')
    op.create_index('ix_instalments_unpaid', 'instalments', ['financial_year', 'term'], unique=False, schema='funding', postgresql_where=sa.text('payment_run_id IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_instalments_unpaid', table_name='instalments', schema='funding', postgresql_where=sa.text('payment_run_id IS NULL'))
    op.drop_index(op.f('ix_instalments_schedule_id'), table_name='instalments', schema='funding')
    op.drop_index(op.f('ix_instalments_payment_run_id'), table_name='instalments', schema='funding')
    op.drop_table('instalments', schema='funding')
    op.drop_index('ix_payment_schedules_year_urn', table_name='payment_schedules', schema='funding')
    op.drop_index(op.f('ix_payment_schedules_publication_id'), table_name='payment_schedules', schema='funding')
    op.drop_table('payment_schedules', schema='funding')
    op.drop_index(op.f('ix_panel_agenda_items_application_id'), table_name='panel_agenda_items', schema='funding')
    op.drop_table('panel_agenda_items', schema='funding')
    op.drop_index(op.f('ix_decisions_panel_id'), table_name='decisions', schema='funding')
    op.drop_table('decisions', schema='funding')
    op.drop_index(op.f('ix_commitments_budget_id'), table_name='commitments', schema='funding')
    op.drop_table('commitments', schema='funding')
    op.drop_table('school_formula_inputs', schema='funding')
    op.drop_table('school_allocations', schema='funding')
    op.drop_index(op.f('ix_budget_adjustments_budget_id'), table_name='budget_adjustments', schema='funding')
    op.drop_table('budget_adjustments', schema='funding')
    op.drop_index(op.f('ix_applications_status'), table_name='applications', schema='funding')
    op.drop_index('ix_applications_school_urn_created_at', table_name='applications', schema='funding')
    op.drop_index(op.f('ix_applications_referral_id'), table_name='applications', schema='funding')
    op.drop_index(op.f('ix_applications_panel_id'), table_name='applications', schema='funding')
    op.drop_index(op.f('ix_applications_financial_year'), table_name='applications', schema='funding')
    op.drop_table('applications', schema='funding')
    op.drop_table('zones', schema='funding')
    op.drop_index(op.f('ix_schools_zone_id'), table_name='schools', schema='funding')
    op.drop_table('schools', schema='funding')
    op.drop_index(op.f('ix_payment_runs_financial_year'), table_name='payment_runs', schema='funding')
    op.drop_table('payment_runs', schema='funding')
    op.drop_index(op.f('ix_panels_meeting_on'), table_name='panels', schema='funding')
    op.drop_table('panels', schema='funding')
    op.drop_table('formula_versions', schema='funding')
    op.drop_index(op.f('ix_formula_input_imports_financial_year'), table_name='formula_input_imports', schema='funding')
    op.drop_table('formula_input_imports', schema='funding')
    op.drop_table('budgets', schema='funding')
    op.drop_table('allocation_publications', schema='funding')
    op.drop_table('academic_terms', schema='funding')
