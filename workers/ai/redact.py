"""Secret removal for text that leaves the system in a prompt.

Stricter than the relay's scrubbing (which keeps events useful to people): a
prompt goes to a third party, so anything that looks like a credential is
replaced, even at the cost of a false positive. Source lines that assign to a
sensitive name lose their right-hand side; tokens with a known shape (bearer,
JWT, cloud keys, PEM blocks, passwords in URLs) and long random-looking strings
are masked wherever they appear.
"""

from __future__ import annotations

import re

FILTERED = "[Filtered]"

_SENSITIVE_NAME = (
    r"(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|auth\w*|credential\w*|"
    r"private[_-]?key|cookie|session[_-]?id|csrf|dsn)"
)
# `password = "x"`, `"api_key": "x"`, `token: x`, `self.secret_key=x` ... up to the line end.
_ASSIGNMENT = re.compile(rf"(?i)(\b[\w.]*{_SENSITIVE_NAME}[\w]*[\"']?\s*(?::|=|==|:=)\s*)(\S.*)$")
_SHAPED_SECRETS = [
    re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"(?i)\b(?:bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{8,}=*"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\b(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{16,}\b"),  # Stripe, OpenAI
    re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat|xox[abpsr]|glpat)[-_][A-Za-z0-9_-]{10,}\b"),
]
_URL_CREDENTIALS = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^:/@\s]+:[^@/\s]+@")
# 32+ characters mixing letters and digits without spaces: keys, salts, signed ids.
_RANDOM_LOOKING = re.compile(
    r"\b(?=[A-Za-z0-9+/_=-]*\d)(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_=-]{32,}"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def redact_text(text: str) -> str:
    """Mask credentials with a recognizable shape, wherever they are."""
    for pattern in _SHAPED_SECRETS:
        text = pattern.sub(FILTERED, text)
    text = _URL_CREDENTIALS.sub(rf"\g<1>{FILTERED}@", text)
    return _RANDOM_LOOKING.sub(FILTERED, text)


def redact_code_line(line: str) -> str:
    """A source line: drop values assigned to sensitive names, then mask tokens and emails."""
    line = _ASSIGNMENT.sub(rf"\g<1>{FILTERED}", line)
    return mask_identities(redact_text(line))


def mask_identities(text: str) -> str:
    """Email addresses identify people; a prompt does not need them."""
    return _EMAIL.sub("<email>", text)


def is_sensitive_name(name: str) -> bool:
    return re.search(_SENSITIVE_NAME, name, re.IGNORECASE) is not None
