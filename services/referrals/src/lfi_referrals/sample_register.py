"""A SAMPLE school register for local runs and tests: NOT real schools.

Generated deterministically (same seed → same file) in the DfE register CSV layout plus the
``Zone`` column, with LA code 926 (Norfolk). URNs are six digits in the 990000s and names say
"(sample)", so nobody mistakes them for the real Get Information about Schools extract.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence

from lfi_referrals.service.register import REGISTER_COLUMNS, ZoneSeed

SAMPLE_URN_BASE = 990000

ZONES: tuple[ZoneSeed, ...] = (
    ZoneSeed(code="north-norwich", name="North Norwich"),
    ZoneSeed(code="kings-lynn", name="King's Lynn"),
    *(ZoneSeed(code=f"zone-{n:02d}", name=f"Zone {n}") for n in range(3, 16)),
)
"""The 15 school and community zones; only two names are published (DESIGN §1), the others
are numbered for an administrator to rename."""

_TOWNS = ("Aylsham", "Attleborough", "Cromer", "Dereham", "Diss", "Downham Market",
          "Fakenham", "Holt", "Hunstanton", "North Walsham", "Swaffham", "Thetford",
          "Watton", "Wymondham", "Sheringham", "Wells", "Loddon", "Harleston", "Acle",
          "Hethersett", "Taverham", "Sprowston", "Drayton", "Gorleston")
_KINDS = (
    # (phase, type, low age, high age, name word, pupils range)
    ("Primary", "Community school", 4, 11, "Primary School", (60, 420)),
    ("Primary", "Academy converter", 4, 11, "Primary Academy", (90, 450)),
    ("Primary", "Voluntary controlled school", 4, 11, "Church of England Primary School",
     (40, 210)),
    ("Primary", "Foundation school", 3, 7, "Infant School", (60, 270)),
    ("Primary", "Community school", 7, 11, "Junior School", (120, 360)),
    ("Secondary", "Academy converter", 11, 18, "High School", (600, 1600)),
    ("Secondary", "Academy sponsor led", 11, 16, "Academy", (500, 1200)),
    ("All-through", "Free schools", 4, 16, "All-through School", (400, 900)),
    ("Not applicable", "Community special school", 3, 19, "Special School", (40, 180)),
)


def sample_rows(count: int, *, seed: int = 926, zones: Sequence[ZoneSeed] = ZONES,
                la_code: str = "926") -> list[dict[str, str]]:
    """``count`` sample register rows, spread evenly over ``zones``."""
    rng = random.Random(seed)  # deterministic sample data, not security
    rows = []
    for i in range(count):
        phase, kind, low, high, word, pupils = _KINDS[rng.randrange(len(_KINDS))]
        town = _TOWNS[rng.randrange(len(_TOWNS))]
        zone = zones[i % len(zones)]
        rows.append({
            "URN": f"{SAMPLE_URN_BASE + i + 1:06d}",
            "LA (code)": la_code,
            "LA (name)": "Norfolk",
            "EstablishmentNumber": f"{2000 + i + 1:04d}",
            "EstablishmentName": f"{town} {word} {i + 1:03d} (sample)",
            "TypeOfEstablishment (name)": kind,
            "EstablishmentStatus (name)": "Open",
            "PhaseOfEducation (name)": phase,
            "StatutoryLowAge": str(low),
            "StatutoryHighAge": str(high),
            "Postcode": f"NR{rng.randrange(1, 35)} {rng.randrange(1, 10)}"
                        f"{'ABDEFGHJLNPQRSTUWXYZ'[rng.randrange(20)]}"
                        f"{'ABDEFGHJLNPQRSTUWXYZ'[rng.randrange(20)]}",
            "NumberOfPupils": str(rng.randrange(*pupils)),
            "Zone": zone.code,
        })
    return rows


def to_csv(rows: Sequence[dict[str, str]], columns: Sequence[str] = REGISTER_COLUMNS) -> bytes:
    """Rows as a register CSV file (header first)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def sample_register_csv(count: int = 390) -> bytes:
    """The sample register ``make run`` loads (about 26 schools per zone)."""
    return to_csv(sample_rows(count))
