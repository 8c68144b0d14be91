"""Events the funding service consumes (the referrals service's schools, zones and Element 3
review requests) and its subscription to them. Published contracts are in
``lfi_contracts.funding``."""
