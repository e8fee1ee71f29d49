"""The channel-conflict check: does a new registration's customer look like another partner's open
registration, or like one of the tenant's customer accounts?

Two signals, both on normalised values:
- the same website domain (exact, after dropping scheme, `www.`, path and port);
- a similar company name (rapidfuzz's token-sort ratio of the names without legal forms and punctuation,
  at or above the tenant's threshold), so "Contoso Ltd" meets "Contoso Limited" and "contoso, inc.".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

# Legal forms and filler words that say nothing about which company it is.
LEGAL_FORMS = {
    "ag", "bv", "co", "company", "corp", "corporation", "gmbh", "group", "holding", "holdings", "inc",
    "incorporated", "kg", "limited", "llc", "llp", "ltd", "nv", "oy", "plc", "pty", "sa", "sarl", "sas",
    "se", "spa", "srl", "the", "und", "and", "ab", "as", "kgaa", "mbh",
}  # fmt: skip


def normalize_domain(value: str) -> str:
    """A bare lower-case host name from what people type: `https://www.Contoso.com/about` -> `contoso.com`."""
    text = (value or "").strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = re.split(r"[/?#:]", text, maxsplit=1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    return text


def normalize_name(value: str) -> str:
    """A company name reduced to the words that tell it apart: lower case, no accents, no punctuation, no
    legal forms (`Contoso Ltd.` -> `contoso`)."""
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    words = re.findall(r"[a-z0-9]+", text)
    kept = [word for word in words if word not in LEGAL_FORMS]
    return " ".join(kept or words)


def name_similarity(a: str, b: str) -> int:
    """0–100: how alike two normalised names are."""
    return round(fuzz.token_sort_ratio(a, b, processor=utils.default_process))


@dataclass(frozen=True)
class Match:
    """One possible conflict: a deal's or a customer account's id, how it matched and how closely."""

    target: str  # "deal" or "account"
    pk: int
    kind: str  # ConflictKind value
    score: int


def find_matches(
    *,
    name: str,
    domain: str,
    candidates: list[tuple[str, int, str, str]],
    threshold: int,
) -> list[Match]:
    """The candidates ((target, pk, normalised name, normalised domain)) that match `name` or `domain`.

    A domain match scores 100; otherwise the name's similarity must reach `threshold`.
    """
    norm_name, norm_domain = normalize_name(name), normalize_domain(domain)
    matches: dict[tuple[str, int], Match] = {}
    if norm_domain:
        for target, pk, _cand_name, cand_domain in candidates:
            if cand_domain and cand_domain == norm_domain:
                matches[(target, pk)] = Match(target, pk, "domain", 100)
    if norm_name:
        names = [cand_name for _t, _pk, cand_name, _d in candidates]
        for _choice, score, index in process.extract(
            norm_name, names, scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
        ):
            target, pk, _n, _d = candidates[index]
            if (target, pk) not in matches:
                matches[(target, pk)] = Match(target, pk, "name", round(score))
    return sorted(matches.values(), key=lambda m: (-m.score, m.target, m.pk))
