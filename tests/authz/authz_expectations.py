"""Who may call what: the expectation table of the authorization matrix, as data.

One entry per operation id of the gateway's merged OpenAPI document (a test fails when the
document holds an operation this table does not name, or the other way round). Each entry says

* ``gate``: the roles that get past the operation's role check; every other role gets 403;
* ``allowed``: of those, the roles that may do it (default: all of ``gate``). A role in the
  gate but not allowed sees the object and is refused it: 403;
* ``target``: the object the request names (path id or body field), for "own versus someone
  else's": school A's object (own) and school B's (other; another zone too);
* ``scoped``: the roles whose access to the target depends on owning it (``school_staff`` by
  the token's school URNs, ``tas_practitioner`` by its zones); for them, the other school's
  object answers ``other`` (404 by default: existence is not leaked);
* ``may_404``: the allowed call may find nothing (a random id, nothing published yet).

An allowed call must not answer 401, 403 (nor 404 on an existing own object); any other status
(2xx, 409, 412 for the deliberately stale If-Match the matrix sends, 422) proves the gate let it
through. The role rules come from each service's access code (``lfi_referrals.access``,
``lfi_placements.api.access``, ``lfi_funding.api.deps``, ``lfi_events.api.access``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lfi_shared.auth.principal import Role

R = Role
ALL = frozenset(Role)
SCHOOL = frozenset({R.school_staff})
SCOPED = frozenset({R.school_staff, R.tas_practitioner})

# referrals (lfi_referrals.access)
REF_READ = frozenset({R.school_staff, R.tas_practitioner, R.placements_officer,
                      R.funding_officer, R.la_admin})
REF_DRAFT = frozenset({R.school_staff, R.tas_practitioner, R.la_admin})
REF_TRIAGE = frozenset({R.tas_practitioner, R.la_admin})
REF_WITHDRAW = frozenset({R.school_staff, R.la_admin})
REF_NOTE = frozenset({R.school_staff, R.tas_practitioner, R.la_admin})
PHONELINE = frozenset({R.tas_practitioner, R.la_admin})
LA_ADMIN = frozenset({R.la_admin})
AUDIT = frozenset({R.auditor, R.la_admin})

# placements (lfi_placements.api.access)
PL_MANAGERS = frozenset({R.placements_officer, R.la_admin})
PL_READERS = PL_MANAGERS | {R.auditor, R.school_staff, R.tas_practitioner}
PL_REQUESTERS = PL_MANAGERS | {R.tas_practitioner}

# funding (lfi_funding.api.deps)
FU_MANAGERS = frozenset({R.funding_officer, R.la_admin})
FU_READERS = frozenset({R.funding_officer, R.panel_member, R.la_admin, R.auditor})
FU_SCHOOL_READERS = FU_READERS | {R.school_staff}
FU_APPLICANTS = frozenset({R.school_staff, R.funding_officer, R.la_admin})
PANEL = frozenset({R.panel_member})

# events (lfi_events.api.access)
EV_READERS = frozenset({R.auditor, R.la_admin})
EV_OPERATOR = frozenset({R.la_admin})
EV_CATALOGUE = frozenset({R.auditor, R.la_admin, R.service_client})


@dataclass(frozen=True)
class Rule:
    gate: frozenset[Role]
    allowed: frozenset[Role] | None = None
    target: str | None = None
    scoped: frozenset[Role] = frozenset()
    other: int = 404
    may_404: bool = False
    public: bool = False  # no token needed (health)

    def expect(self, role: Role, whose: str) -> int | None:
        """The status ``role`` must get on ``whose`` ("own", "other") object; ``None`` for
        "let through" (anything but 401, 403 and, unless ``may_404``, 404)."""
        if self.public:
            return None
        if role not in self.gate:
            return 403
        if self.target and whose == "other" and role in self.scoped:
            return self.other
        if role in (self.allowed if self.allowed is not None else self.gate):
            return None
        return 403


def referral(allowed: frozenset[Role]) -> Rule:
    return Rule(REF_READ, allowed, target="referral", scoped=SCOPED)


EXPECTATIONS: dict[str, Rule] = {
    # gateway
    "gateway_health": Rule(ALL, public=True),
    "gateway_health_live": Rule(ALL, public=True),
    "gateway_health_ready": Rule(ALL, public=True),
    # referrals: the access log, the phoneline, referrals and what hangs off them, the register
    "referrals_list_access_log": Rule(AUDIT),
    "referrals_log_contact": Rule(PHONELINE),
    "referrals_list_contacts": Rule(PHONELINE),
    "referrals_read_contact": Rule(PHONELINE, target="contact"),
    # Converting a call about school B into a referral is drafting for school B.
    "referrals_convert_contact_to_referral": Rule(PHONELINE, target="contact",
                                                  scoped=frozenset({R.tas_practitioner})),
    # Drafting for a school not one's own is a 422 naming body.school_urn.
    "referrals_create_referral": Rule(REF_READ, REF_DRAFT, target="school", scoped=SCOPED,
                                      other=422),
    "referrals_list_referrals": Rule(REF_READ),
    "referrals_export_subject_access": Rule(LA_ADMIN),
    "referrals_read_referral": referral(REF_READ),
    "referrals_export_referral": referral(REF_READ),
    "referrals_list_case_notes": referral(REF_READ),
    "referrals_add_case_note": referral(REF_NOTE),
    "referrals_amend_referral": referral(REF_DRAFT),
    "referrals_submit_referral": referral(REF_DRAFT),
    "referrals_withdraw_referral": referral(REF_WITHDRAW),
    "referrals_triage_referral": referral(REF_TRIAGE),
    "referrals_accept_referral": referral(REF_TRIAGE),
    "referrals_start_referral_support": referral(REF_TRIAGE),
    "referrals_close_referral": referral(REF_TRIAGE),
    "referrals_decline_referral": referral(REF_TRIAGE),
    "referrals_assign_practitioner": referral(REF_TRIAGE),
    "referrals_request_placement": referral(REF_TRIAGE),
    "referrals_request_element3_review": referral(REF_TRIAGE),
    "referrals_list_schools": Rule(ALL),
    "referrals_read_school": Rule(ALL, target="school"),
    "referrals_update_school": Rule(LA_ADMIN, target="school"),
    "referrals_import_school_register": Rule(LA_ADMIN),
    "referrals_list_zones": Rule(ALL),
    "referrals_read_zone": Rule(ALL, target="zone"),
    "referrals_rename_zone": Rule(LA_ADMIN, target="zone"),
    "referrals_list_overdue_referrals": Rule(REF_READ, target="zone"),
    # placements
    "placements_list_terms": Rule(ALL),
    "placements_add_terms": Rule(PL_MANAGERS),
    "placements_read_capacity": Rule(ALL),
    "placements_forecast_capacity": Rule(ALL),
    "placements_export_capacity": Rule(PL_MANAGERS),
    "placements_list_provisions": Rule(ALL),
    "placements_read_provision": Rule(ALL, target="provision"),
    "placements_update_provision_details": Rule(PL_MANAGERS, target="provision"),
    "placements_list_placement_requests": Rule(PL_READERS),
    "placements_list_placements": Rule(PL_READERS),
    # A practitioner asking for a child outside their zones is refused outright.
    "placements_request_placement": Rule(PL_REQUESTERS, target="school",
                                         scoped=frozenset({R.tas_practitioner}), other=403),
    "placements_read_placement_request": Rule(PL_READERS, target="request", scoped=SCOPED),
    "placements_cancel_placement_request": Rule(PL_MANAGERS, target="request"),
    "placements_expire_due_offers": Rule(PL_MANAGERS),
    "placements_read_placement": Rule(PL_READERS, target="placement", scoped=SCOPED),
    "placements_accept_offer": Rule(PL_MANAGERS, target="placement"),
    "placements_decline_offer": Rule(PL_MANAGERS, target="placement"),
    "placements_withdraw_offer": Rule(PL_MANAGERS, target="placement"),
    "placements_expire_offer": Rule(PL_MANAGERS, target="placement"),
    "placements_start_placement": Rule(PL_MANAGERS, target="placement"),
    "placements_end_placement": Rule(PL_MANAGERS, target="placement"),
    "placements_change_planned_end": Rule(PL_MANAGERS, target="placement"),
    # funding: applications (school staff: their own school's only)
    "funding_open_application": Rule(FU_APPLICANTS, target="school", scoped=SCHOOL, other=403),
    "funding_list_applications": Rule(FU_SCHOOL_READERS),
    "funding_read_application": Rule(FU_SCHOOL_READERS, target="application", scoped=SCHOOL),
    "funding_update_application_evidence": Rule(FU_APPLICANTS, target="application",
                                                scoped=SCHOOL),
    "funding_submit_application": Rule(FU_APPLICANTS, target="application", scoped=SCHOOL),
    "funding_withdraw_application": Rule(FU_APPLICANTS, target="application", scoped=SCHOOL),
    "funding_decide_application": Rule(PANEL, target="application"),
    "funding_read_application_schedule": Rule(FU_SCHOOL_READERS, target="application",
                                              scoped=SCHOOL, may_404=True),
    # funding: panels, payments, budgets, formula, reports
    "funding_create_panel": Rule(FU_MANAGERS),
    "funding_list_panels": Rule(FU_READERS),
    "funding_read_panel": Rule(FU_READERS, target="panel"),
    "funding_add_to_agenda": Rule(FU_MANAGERS, target="panel"),
    "funding_create_payment_run": Rule(FU_MANAGERS),
    "funding_list_payment_runs": Rule(FU_READERS),
    "funding_read_payment_run": Rule(FU_READERS, may_404=True),
    "funding_export_payment_run": Rule(FU_READERS, may_404=True),
    "funding_read_terms": Rule(FU_READERS, may_404=True),
    "funding_set_terms": Rule(FU_MANAGERS),
    "funding_list_budgets": Rule(FU_READERS),
    "funding_create_budget": Rule(FU_MANAGERS),
    "funding_read_budget": Rule(FU_READERS, may_404=True),
    "funding_revise_budget": Rule(FU_MANAGERS, may_404=True),
    "funding_adjust_budget": Rule(FU_MANAGERS, may_404=True),
    "funding_approve_budget": Rule(FU_MANAGERS, may_404=True),
    "funding_read_formula": Rule(FU_SCHOOL_READERS, may_404=True),
    "funding_list_formula_versions": Rule(FU_READERS),
    "funding_set_formula": Rule(FU_MANAGERS),
    "funding_import_formula_inputs": Rule(FU_MANAGERS),
    "funding_list_formula_inputs": Rule(FU_READERS),
    "funding_preview_formula": Rule(FU_MANAGERS, may_404=True),
    "funding_publish_formula": Rule(FU_MANAGERS, may_404=True),
    "funding_read_publication": Rule(FU_SCHOOL_READERS, may_404=True),
    "funding_list_allocations": Rule(FU_SCHOOL_READERS, may_404=True),
    "funding_read_school_allocation": Rule(FU_SCHOOL_READERS, target="school", scoped=SCHOOL,
                                           may_404=True),
    "funding_report_blocks": Rule(FU_READERS, may_404=True),
    "funding_report_zones": Rule(FU_READERS, may_404=True),
    "funding_report_schools": Rule(FU_SCHOOL_READERS, may_404=True),
    "funding_report_history": Rule(FU_READERS),
    # events
    "events_get_asyncapi_document": Rule(EV_CATALOGUE),
    "events_list_event_types": Rule(EV_CATALOGUE),
    "events_get_event_type_schema": Rule(EV_CATALOGUE),
    "events_list_events": Rule(EV_READERS),
    "events_list_rejected_events": Rule(EV_READERS),
    "events_get_event": Rule(EV_READERS, may_404=True),
    "events_get_referral_timeline": Rule(EV_READERS, target="referral"),
    "events_stream_events": Rule(EV_READERS),
    "events_replay_events": Rule(EV_OPERATOR),
    "events_get_replay": Rule(EV_READERS, may_404=True),
    "events_list_dead_letters": Rule(EV_READERS),
    "events_get_dead_letter": Rule(EV_READERS, may_404=True),
    "events_redeliver_message": Rule(EV_OPERATOR, may_404=True),
}
