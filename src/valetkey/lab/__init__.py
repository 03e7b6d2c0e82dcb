"""``valetkey lab``: an authorization server that misbehaves on purpose, to test OAuth clients.

Each fault of the catalogue (``catalogue.FAULTS``) is an issuer of its own; a client under test
needs only that issuer URL and a client ID. The lab watches the client's next move and judges it
(``judge.py``). Nothing here is imported by the real server, and the lab imports nothing of it.
"""

from valetkey.lab.catalogue import BY_NAME, FAULTS, Fault
from valetkey.lab.judge import Observed, ProcessResult, Verdict, judge
from valetkey.lab.state import Lab

__all__ = ["BY_NAME", "FAULTS", "Fault", "Lab", "Observed", "ProcessResult", "Verdict", "judge"]
