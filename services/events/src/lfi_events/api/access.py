"""Who may call what (DESIGN §4 roles).

The store, timelines, live stream and dead letters show what the system did: auditors and LA
administrators. Redelivering and replaying change what consumers do: LA administrators only.
The catalogue is also the contract other council systems subscribe to, so service clients may
read it as well.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from lfi_shared.auth import Principal, Role, require_roles

Reader = Annotated[Principal, Depends(require_roles(Role.auditor, Role.la_admin))]
Operator = Annotated[Principal, Depends(require_roles(Role.la_admin))]
CatalogueReader = Annotated[
    Principal, Depends(require_roles(Role.auditor, Role.la_admin, Role.service_client))
]
