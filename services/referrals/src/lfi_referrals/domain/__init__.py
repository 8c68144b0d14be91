"""Domain layer of the referrals service: the rules, with no I/O.

Modules:

* ``identifiers`` — UPN, URN, LAESTAB: predicates, checkers and annotated types for schemas;
* ``census`` — year groups and key stages, SEN provision and primary need, exclusions;
* ``subjects`` — who a referral is about (child, cohort, whole school);
* ``support`` — support requested, parental agreement, support plans, reasons and outcomes;
* ``lifecycle`` — statuses, actions and the legal transitions;
* ``referral`` — the aggregate and its transitions (return the new state and the events);
* ``events`` — the domain events the transitions produce (no personal data);
* ``outcomes`` — placement and funding outcomes shown on a referral;
* ``working_days`` — triage due dates; ``policy`` — the configurable parameters;
* ``retention`` — retention per record class, and anonymisation;
* ``errors`` — the domain's errors (RFC 9457 problems through ``lfi_shared``).
"""
