"""``valetkey audit ISSUER``: actively test an authorization server against RFC 9700 and the OAuth
2.1 draft with a client registered there for the purpose.

Checks are data (:data:`~valetkey.audit.catalogue.CHECKS`): each names its spec section and
severity, and its probe returns pass, fail or skip with the evidence seen on the wire.
"""

from valetkey.audit.catalogue import BY_ID, CHECKS
from valetkey.audit.check import Check, Finding
from valetkey.audit.model import Result
from valetkey.audit.navigate import InBrowser, Landing, Scripted
from valetkey.audit.runner import Report, audit
from valetkey.audit.target import AuditConfig, Target

__all__ = [
    "BY_ID", "CHECKS", "AuditConfig", "Check", "Finding", "InBrowser", "Landing", "Report",
    "Result", "Scripted", "Target", "audit",
]  # fmt: skip
