"""The sources file (TOML): which feeds, sitemaps, listing pages and URLs each source contributes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from wirehouse.urls import InvalidURL, normalize_url

# Politeness defaults, overridable per source.
DEFAULT_HOST_DELAY = 1.0
DEFAULT_MAX_PAGES = 500
DEFAULT_MAX_SITEMAP_URLS = 2000

_LIST_KEYS = ("feeds", "sitemaps", "pages", "urls")
_KNOWN_KEYS = frozenset({"name", *_LIST_KEYS, "allow_private_network", "host_delay", "max_pages"})
_TOP_KEYS = frozenset({"sources", "fetch"})
# The [fetch] table, in one place: key -> (the fetch option it sets, the kind of value it takes).
# `SourcesConfig.fetch` holds the checked values under the option names, ready for `FetchOptions(**...)`.
_FETCH_KEYS = {
    "contact_url": ("contact_url", "text"), "user_agent": ("user_agent", "text"),
    "timeout": ("read_timeout", "seconds"), "connect_timeout": ("connect_timeout", "seconds"),
    "deadline": ("deadline", "seconds"), "max_bytes": ("max_bytes", "count"), "retries": ("retries", "retries"),
}
_KIND_TYPES = {"text": str, "seconds": float, "count": int, "retries": int}


class ConfigError(ValueError):
    """The sources file is unusable; the message is one line naming the source and key."""


@dataclass(frozen=True)
class Source:
    """One publisher (or any named group of entry points)."""

    name: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    allow_private_network: bool = False
    host_delay: float = DEFAULT_HOST_DELAY
    max_pages: int = DEFAULT_MAX_PAGES


@dataclass(frozen=True)
class SourcesConfig:
    sources: tuple[Source, ...]
    fetch: dict = field(default_factory=dict)   # FetchOptions field -> value, from the [fetch] table
    path: str = ""

    def by_name(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and check a sources file.

    Args:
        path: the TOML file.

    Returns:
        The parsed configuration, URLs normalized.

    Raises:
        ConfigError: unreadable file, bad TOML, unknown key, missing or duplicate name,
            a non-http(s) URL or a value of the wrong type.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read sources file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return parse_sources(raw, origin=str(p))


def parse_sources(raw: dict, origin: str = "<sources>") -> SourcesConfig:
    """Check an already-parsed sources document; see `load_sources`."""
    unknown_top = sorted(set(raw) - _TOP_KEYS)
    if unknown_top:
        raise ConfigError(f"{origin}: unknown top-level key {unknown_top[0]!r} (expected [[sources]] or [fetch])")
    entries = raw.get("sources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: no [[sources]] defined")
    fetch = raw.get("fetch", {})
    if not isinstance(fetch, dict):
        raise ConfigError(f"{origin}: [fetch] must be a table")
    unknown_fetch = sorted(set(fetch) - set(_FETCH_KEYS))
    if unknown_fetch:
        raise ConfigError(f"{origin}: [fetch]: unknown key {unknown_fetch[0]!r}")
    options = {}
    for key, value in fetch.items():
        _check_fetch_value(origin, key, value)
        option, kind = _FETCH_KEYS[key]
        options[option] = _KIND_TYPES[kind](value)
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        source = _parse_source(entry, index, origin)
        if source.name in seen:
            raise ConfigError(f"{origin}: source {source.name!r}: duplicate name")
        seen.add(source.name)
        sources.append(source)
    return SourcesConfig(sources=tuple(sources), fetch=options, path=origin)


def _check_fetch_value(origin: str, key: str, value: object) -> None:
    kind = _FETCH_KEYS[key][1]
    integer = isinstance(value, int) and not isinstance(value, bool)
    number = integer or isinstance(value, float)
    if kind == "text" and not (isinstance(value, str) and value.strip()):
        raise ConfigError(f"{origin}: [fetch]: key {key!r} must be a non-empty string")
    if kind == "seconds" and not (number and value > 0):
        raise ConfigError(f"{origin}: [fetch]: key {key!r} must be a number of seconds > 0")
    if kind == "count" and not (integer and value > 0):
        raise ConfigError(f"{origin}: [fetch]: key {key!r} must be an integer > 0")
    if kind == "retries" and not (integer and 0 <= value <= 10):
        raise ConfigError(f"{origin}: [fetch]: key {key!r} must be an integer from 0 to 10")


def _parse_source(entry: object, index: int, origin: str) -> Source:
    if not isinstance(entry, dict):
        raise ConfigError(f"{origin}: sources entry #{index} is not a table")
    name = entry.get("name")
    label = f"source {name!r}" if isinstance(name, str) and name else f"sources entry #{index}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{origin}: {label}: missing required key 'name'")
    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{origin}: {label}: unknown key {unknown[0]!r}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_KEYS:
        values = entry.get(key, [])
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{origin}: {label}: key {key!r} must be a list of URLs")
        normalized = []
        for value in values:
            try:
                normalized.append(normalize_url(value))
            except InvalidURL:
                raise ConfigError(f"{origin}: {label}: key {key!r}: not an http(s) URL: {value!r}") from None
        lists[key] = tuple(dict.fromkeys(normalized))
    if not any(lists.values()):
        raise ConfigError(f"{origin}: {label}: no feeds, sitemaps, pages or urls")
    allow = entry.get("allow_private_network", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"{origin}: {label}: key 'allow_private_network' must be true or false")
    host_delay = entry.get("host_delay", DEFAULT_HOST_DELAY)
    if not isinstance(host_delay, (int, float)) or isinstance(host_delay, bool) or host_delay < 0:
        raise ConfigError(f"{origin}: {label}: key 'host_delay' must be a number of seconds >= 0")
    max_pages = entry.get("max_pages", DEFAULT_MAX_PAGES)
    if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
        raise ConfigError(f"{origin}: {label}: key 'max_pages' must be an integer >= 1")
    return Source(
        name=name.strip(),
        allow_private_network=allow,
        host_delay=float(host_delay),
        max_pages=max_pages,
        **lists,
    )
