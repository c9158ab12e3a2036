"""URL normalization and identity: one canonical form per page, one stable id per canonical form."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

# Query parameters that only track the click, never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "wickedid", "ref_src", "ref_url", "s_cid", "cmpid",
        "ncid", "sr_share", "spm", "at_medium", "at_campaign", "rss", "ito", "icid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "__hs")
DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = "/:@!$'()*,-._~"


_SECRET_PARAM = re.compile(
    r"(token|key|secret|passw|pwd|sig|auth|session|credential|code)", re.IGNORECASE
)


# What a host may hold once IDNA-encoded: LDH labels (underscores occur in real subdomains).
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


class InvalidURL(ValueError):
    """The string is not an absolute http(s) URL.

    ``reason`` is the short kind of problem fetch_log records: "unsupported scheme" (javascript:,
    file:, mailto: ...) or "invalid URL" (no scheme, no host, a host no resolver would accept).
    """

    def __init__(self, message: str, reason: str = "invalid URL") -> None:
        super().__init__(message)
        self.reason = reason


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str, base: str | None = None) -> str:
    """Return the normalized form of an absolute http(s) URL.

    Lowercases scheme and host, drops default ports, fragments and tracking parameters,
    sorts the remaining query parameters and normalizes percent-encoding of the path.

    Args:
        url: the URL, absolute or (with ``base``) relative.
        base: the page the URL was found on, to resolve relative links.

    Returns:
        The normalized URL.

    Raises:
        InvalidURL: when the result is not an absolute http(s) URL with a host.
    """
    raw = url.strip()
    if base:
        raw = urljoin(base, raw)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"not a valid URL: {url!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(f"not an http(s) URL: {url!r}", "unsupported scheme" if scheme else "invalid URL")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURL(f"URL has no host: {url!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if ":" in host:  # IPv6 literal (urlsplit checked the brackets)
        host = f"[{host}]"
    elif not _HOST_NAME.fullmatch(host):  # a space or %20 in the host: requests would fail on it later, less clearly
        raise InvalidURL(f"not a valid host name {host!r} in {url!r}")
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path or "/"), safe=_SAFE_PATH)
    path = re.sub(r"/{2,}", "/", path)
    if "/." in path:  # resolve dot segments (RFC 3986 5.2.4)
        path = urlsplit(urljoin("http://h/", path)).path
    query = _normalize_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_query(query: str) -> str:
    """Drop tracking parameters and sort the rest; a bare key (``?amp``) stays bare."""
    kept = []
    for item in query.replace(";", "&").split("&"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = unquote(key.replace("+", " ")), unquote(value.replace("+", " "))
        if is_tracking_param(key):
            continue
        encoded = quote(key, safe=_SAFE_QUERY)
        kept.append(f"{encoded}={quote(value, safe=_SAFE_QUERY)}" if sep else encoded)
    return "&".join(sorted(kept))


def try_normalize(url: str, base: str | None = None) -> str | None:
    """`normalize_url`, or None for anything that is not an http(s) URL."""
    try:
        return normalize_url(url, base)
    except InvalidURL:
        return None


def url_host(url: str) -> str:
    """The lowercased host name of a URL (no port)."""
    return (urlsplit(url).hostname or "").lower()


def site_key(url: str) -> str:
    """The site a URL belongs to: its host without a leading ``www.``."""
    host = url_host(url)
    return host[4:] if host.startswith("www.") else host


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on the same site (host, ignoring ``www.``)."""
    return site_key(a) == site_key(b)


def article_id(canonical_url: str) -> str:
    """A stable 16-hex-digit id for a canonical URL (first 64 bits of its SHA-256)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]


def redact_url(url: str) -> str:
    """A URL fit for logs: userinfo and the values of query parameters that look like secrets
    (token, key, secret, password, signature, auth, session, credential, code) become ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{name}=***" if sep and _SECRET_PARAM.search(unquote(name)) else f"{name}{sep}{value}"
        for name, sep, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
