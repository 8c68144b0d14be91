"""Domain layer of the placements service: rules and state machines, no I/O.

Modules:

* :mod:`.vocabulary` — provision types, statuses, priorities, outcomes (closed code lists);
* :mod:`.identifiers` — URN, year group, primary need, zone id;
* :mod:`.calendar` — terms, the academic calendar, the latest end of a stay;
* :mod:`.provision` — provision types (maximum stay as data) and provisions;
* :mod:`.stay` — the maximum-stay rule on planned ends;
* :mod:`.occupancy` — counting places held on a day or over a period;
* :mod:`.request` — placement requests and the waiting-list order;
* :mod:`.matching` — choosing a provision, and the next waiting request for a freed place;
* :mod:`.placement` — the placement lifecycle from offer to end;
* :mod:`.capacity` — capacity views and forecasts, county totals;
* :mod:`.events` — domain events (plain data);
* :mod:`.errors` — domain errors (problem types);
* :mod:`.reference_data` — seed term dates and provision types.
"""
