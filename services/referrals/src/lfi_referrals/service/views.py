"""Rows as the API shows them (``ReferralRead``, ``ReferralSummary``, notes, access log)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row

from lfi_referrals.db.mapping import referral_from_rows
from lfi_referrals.db.models import AccessLogEntry, CaseNote, ReferralRow, table_of
from lfi_referrals.domain.census import ExclusionType, SenPrimaryNeed, SenProvision
from lfi_referrals.domain.lifecycle import ReferralStatus, allowed_actions
from lfi_referrals.domain.referral import Referral, is_triage_overdue
from lfi_referrals.domain.subjects import SubjectKind
from lfi_referrals.domain.support import (
    ParentRelationship,
    PlacementPriority,
    SupportFocus,
    SupportLevel,
)
from lfi_referrals.messaging.publishing import PRIORITY_CONTRACT
from lfi_referrals.schemas.referrals import (
    AccessLogRead,
    CaseNoteRead,
    ChildRead,
    CohortRead,
    Element3ReviewRead,
    ExclusionRead,
    Finished,
    ParentalAgreementRead,
    PlacementRequestRead,
    ReferralRead,
    ReferralSummary,
    ShownFundingRead,
    ShownOutcomesRead,
    ShownPlacementRead,
    SupportPlanRead,
    TriageRead,
    WholeSchoolRead,
)
from lfi_referrals.service.referrals import LoadedReferral, pounds_of

_REFERRALS = table_of(ReferralRow)
SUMMARY_COLUMNS = tuple(_REFERRALS.c[name] for name in (
    "id", "school_urn", "zone_id", "subject_kind", "status", "child_id", "year_groups", "needs",
    "support_requested", "submitted_at", "triage_due_on", "assigned_practitioner_id",
    "shown_placement", "shown_funding", "created_at", "updated_at", "version"))
"""The columns :func:`referral_summary` reads, and the only ones the list writes
(:data:`~lfi_referrals.service.referral_list.SUMMARY_JSON`): no child's identity, exclusions
or plan is read for a list."""

_SUBMITTED = ReferralStatus.SUBMITTED.value
_NOTHING_SHOWN = ShownOutcomesRead(placement=None, funding=None)

SummarySource = ReferralRow | Row[Any]
"""A referral, or a row of :data:`SUMMARY_COLUMNS`."""


def _shown(row: SummarySource) -> ShownOutcomesRead:
    p, f = row.shown_placement, row.shown_funding
    if p is None and f is None:
        return _NOTHING_SHOWN  # most referrals; models are not changed once made
    return ShownOutcomesRead(
        placement=ShownPlacementRead(
            status=p["status"], request_id=p["request_id"], provision_id=p["provision_id"],
            starts_on=p["starts_on"], ends_on=p["ends_on"], end_reason=p["end_reason"],
            as_of=p["as_of"]) if p else None,
        funding=ShownFundingRead(
            status=f["status"], application_id=f["application_id"],
            amount_awarded=pounds_of(f["awarded_pence"]), as_of=f["as_of"]) if f else None)


def is_overdue(row: SummarySource, today: date) -> bool:
    due = row.triage_due_on
    return due is not None and today > due and row.status == _SUBMITTED


def _summary_fields(row: SummarySource, today: date) -> dict[str, Any]:
    return {
        "id": row.id, "school_urn": row.school_urn, "zone_id": row.zone_id,
        "subject_kind": row.subject_kind, "status": row.status, "child_id": row.child_id,
        "year_groups": row.year_groups, "needs": row.needs,
        "support_requested": row.support_requested, "submitted_at": row.submitted_at,
        "triage_due_on": row.triage_due_on, "overdue": is_overdue(row, today),
        "assigned_practitioner_id": row.assigned_practitioner_id, "shown": _shown(row),
        "created_at": row.created_at, "updated_at": row.updated_at, "version": row.version}


def referral_summary(row: SummarySource, today: date) -> ReferralSummary:
    # One validation of plain values (enums, nested outcomes and all) in pydantic-core.
    return ReferralSummary.model_validate(_summary_fields(row, today))


def _finished(at: object, code: str | None, note: str | None,
              by: str | None = None) -> Finished | None:
    if at is None or code is None:
        return None
    return Finished.model_validate({"at": at, "code": code, "note": note, "by": by})


def referral_read(loaded: LoadedReferral, today: date,
                  referral: Referral | None = None) -> ReferralRead:
    """The referral in full; ``referral`` is its aggregate when the caller has it already."""
    row = loaded.row
    if referral is None:
        referral = referral_from_rows(row, loaded.placements, loaded.reviews)
    assert is_triage_overdue(referral, today) == is_overdue(row, today)
    child = None
    if row.subject_kind == SubjectKind.CHILD.value:
        assert row.child_id is not None and row.sen_provision is not None
        child = ChildRead(
            child_id=row.child_id, given_name=row.child_given_name,
            family_name=row.child_family_name, date_of_birth=row.child_date_of_birth,
            upn=row.child_upn, year_group=row.year_groups[0],
            sen_provision=SenProvision(row.sen_provision),
            primary_need=SenPrimaryNeed(row.primary_need) if row.primary_need else None,
            secondary_need=SenPrimaryNeed(row.secondary_need) if row.secondary_need else None,
            exclusions=[ExclusionRead(kind=ExclusionType(e["kind"]), start_on=e.get("start_on"),
                                      school_days=e.get("school_days"))
                        for e in row.exclusions or []])
    plan = None
    if row.accepted_at is not None:
        assert row.plan_level and row.plan_focus and row.plan_practitioner_id
        assert row.plan_ep_hours is not None and row.plan_review_on is not None
        plan = SupportPlanRead(
            level=SupportLevel(row.plan_level), focus=SupportFocus(row.plan_focus),
            actions=list(row.plan_actions or []), practitioner_id=row.plan_practitioner_id,
            ep_hours=f"{row.plan_ep_hours:.2f}", review_on=row.plan_review_on,
            accepted_at=row.accepted_at)
    return ReferralRead(
        **_summary_fields(row, today),
        child=child,
        cohort=CohortRead(description=row.cohort_description,
                          pupil_count=row.cohort_pupil_count or 0,
                          year_groups=list(row.year_groups), primary_needs=list(row.needs))
        if row.subject_kind == SubjectKind.COHORT.value else None,
        whole_school=WholeSchoolRead(focus_area=row.focus_area)
        if row.subject_kind == SubjectKind.WHOLE_SCHOOL.value else None,
        concerns=row.concerns, already_tried=row.already_tried,
        parental_agreement=ParentalAgreementRead(
            given_by=ParentRelationship(row.parental_agreement_by),
            agreed_on=row.parental_agreement_on)
        if row.parental_agreement_by and row.parental_agreement_on else None,
        triage=TriageRead(practitioner_id=row.triaged_by, triaged_at=row.triaged_at)
        if row.triaged_by and row.triaged_at else None,
        support_plan=plan, support_started_at=row.support_started_at,
        closure=_finished(row.closed_at, row.closure_outcome, row.closure_note),
        decline=_finished(row.declined_at, row.decline_reason, row.decline_note),
        withdrawal=_finished(row.withdrawn_at, row.withdrawal_reason, row.withdrawal_note,
                             row.withdrawn_by),
        placement_requests=[PlacementRequestRead(
            request_id=p.request_id, provision_type=p.provision_type,
            priority=PRIORITY_CONTRACT[PlacementPriority(p.priority)],
            requested_start=p.requested_start, requested_at=p.requested_at)
            for p in sorted(loaded.placements, key=lambda p: p.requested_at)],
        element3_reviews=[Element3ReviewRead(
            request_id=r.request_id, amount_requested=pounds_of(r.amount_requested_pence),
            focus=r.focus, requested_at=r.requested_at)
            for r in sorted(loaded.reviews, key=lambda r: r.requested_at)],
        allowed_actions=sorted(allowed_actions(referral.status)),
        anonymised_at=row.anonymised_at)


def case_note_read(note: CaseNote) -> CaseNoteRead:
    return CaseNoteRead(id=note.id, referral_id=note.referral_id, author=note.author,
                        author_role=note.author_role, body=note.body, created_at=note.created_at)


def access_log_read(entry: AccessLogEntry) -> AccessLogRead:
    return AccessLogRead(id=entry.id, at=entry.at, actor=entry.actor, roles=list(entry.roles),
                         action=entry.action, operation=entry.operation, purpose=entry.purpose,
                         referral_id=entry.referral_id, child_id=entry.child_id,
                         request_id=entry.request_id)
