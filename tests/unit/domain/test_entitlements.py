"""The helpdesk decision (R4-R13, D9, D11, D14) on plain facts, without any framework."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from licensing.domain.entitlements import (
    BanFacts,
    CustomerFacts,
    Department,
    DomainLicense,
    Entitlement,
    EntitlementCode,
    Priority,
    decide,
    priority_of,
)
from licensing.domain.licenses import Channel, LicenseStatus

AT = datetime(2026, 11, 26, 12, tzinfo=UTC)
CUSTOMER = CustomerFacts(customer_id=1, active_ban=None, live_license_count=1, best_edition="pro")
OWN = DomainLicense(
    customer_id=1,
    edition="pro",
    channel=Channel.DIRECT,
    status=LicenseStatus.ACTIVE,
    support_until=AT + timedelta(days=10),
    updates_until=AT + timedelta(days=300),
)
BAN = BanFacts(id=7, reason="abuse", ends_at=None)


def support(
    customer: CustomerFacts = CUSTOMER,
    license: DomainLicense | None = OWN,
    *,
    domain_given: bool = True,
    at: datetime = AT,
) -> Entitlement:
    return decide(
        department=Department.TECHNICAL_SUPPORT,
        customer=customer,
        domain_given=domain_given,
        license=license,
        at=at,
    )


def consultation(customer: CustomerFacts = CUSTOMER) -> Entitlement:
    return decide(
        department=Department.CONSULTATION,
        customer=customer,
        domain_given=False,
        license=None,
        at=AT,
    )


def test_r6_no_live_license_is_no_license_even_for_their_own_revoked_one() -> None:
    """R6 reading: refunded or revoked licenses own nothing; the service counts live ones."""
    only_revoked = replace(CUSTOMER, live_license_count=0, best_edition=None)
    revoked = replace(OWN, status=LicenseStatus.REVOKED)
    for license in (revoked, None, replace(OWN, customer_id=2)):
        answer = support(only_revoked, license)
        assert (answer.allowed, answer.code, answer.priority) == (
            False,
            EntitlementCode.NO_LICENSE,
            Priority.STANDARD,
        )
        assert answer.license is None
    assert support(only_revoked, revoked, domain_given=False).code is EntitlementCode.NO_LICENSE
    assert consultation(only_revoked).code is EntitlementCode.ALLOWED


def test_r6_one_live_license_keeps_the_domain_checks_for_a_revoked_one() -> None:
    """R6 reading: with one live license elsewhere, their own revoked domain is still
    LICENSE_INACTIVE (D9), showing the license; a suspended license alone is live too."""
    revoked = replace(OWN, status=LicenseStatus.REVOKED)
    answer = support(CUSTOMER, revoked)
    assert (answer.code, answer.license) == (EntitlementCode.LICENSE_INACTIVE, revoked)
    suspended = replace(OWN, status=LicenseStatus.SUSPENDED)
    assert support(CUSTOMER, suspended).code is EntitlementCode.LICENSE_INACTIVE


def test_r5_consultations_are_allowed_with_or_without_a_license() -> None:
    nobody = CustomerFacts(customer_id=3, active_ban=None, live_license_count=0, best_edition=None)
    assert consultation(nobody) == Entitlement(True, EntitlementCode.ALLOWED, Priority.STANDARD)
    assert consultation(CUSTOMER) == Entitlement(True, EntitlementCode.ALLOWED, Priority.PRO)


def test_r7_technical_support_needs_a_domain_bound_to_a_license() -> None:
    assert support(domain_given=False).code is EntitlementCode.DOMAIN_REQUIRED
    assert support(license=None).code is EntitlementCode.DOMAIN_NOT_LICENSED


def test_r8_another_accounts_license_is_not_shown_and_priority_is_the_askers() -> None:
    premium_holder = replace(CUSTOMER, best_edition="premium")
    answer = support(premium_holder, replace(OWN, customer_id=2))
    assert (answer.code, answer.priority, answer.license) == (
        EntitlementCode.NOT_LICENSE_OWNER,
        Priority.PREMIUM,
        None,
    )


def test_r9_partner_sale_routes_to_the_partner_before_status_and_window() -> None:
    resold = replace(OWN, channel=Channel.PARTNER, status=LicenseStatus.SUSPENDED)
    answer = support(license=resold, at=OWN.support_until + timedelta(days=1))
    assert (answer.code, answer.partner_routed, answer.allowed) == (
        EntitlementCode.PARTNER_SUPPORTED,
        True,
        False,
    )


def test_r4_d14_support_until_holds_and_one_second_later_is_over() -> None:
    assert support(at=OWN.support_until) == Entitlement(
        True, EntitlementCode.ALLOWED, Priority.PRO, OWN
    )
    late = support(at=OWN.support_until + timedelta(seconds=1))
    assert (late.allowed, late.code) == (False, EntitlementCode.SUPPORT_WINDOW_ENDED)


def test_r12_priority_is_the_asked_licenses_edition_else_the_best_held() -> None:
    assert [priority_of(e) for e in ("premium", "pro", None, "other")] == [
        Priority.PREMIUM,
        Priority.PRO,
        Priority.STANDARD,
        Priority.STANDARD,
    ]
    premium_holder = replace(CUSTOMER, best_edition="premium")
    assert support(premium_holder, OWN).priority is Priority.PRO  # the asked license is Pro
    assert support(premium_holder, domain_given=False).priority is Priority.PREMIUM
    assert list(Priority) == [Priority.PREMIUM, Priority.PRO, Priority.STANDARD]  # served order


@pytest.mark.parametrize("department", [Department.TECHNICAL_SUPPORT, Department.CONSULTATION])
def test_r13_a_ban_comes_first_in_both_departments(department: Department) -> None:
    banned = replace(CUSTOMER, active_ban=BAN)
    answer = decide(department=department, customer=banned, domain_given=True, license=OWN, at=AT)
    assert answer == Entitlement(False, EntitlementCode.BANNED, Priority.PRO, ban=BAN)
