"""Thin endpoints of the funding API under ``/v1/funding``: parse, authorise, call one use case,
shape the reply."""

from fastapi import APIRouter

from lfi_funding.api import applications, budgets, formula, panels, payments, reports


def routers() -> list[APIRouter]:
    return [budgets.router, formula.router, applications.router, panels.router,
            payments.router, reports.router]
