"""Body decoding: acceptable content types, binary sniffing, the one capped gunzip, charset choice.

Decisions worth knowing:

* Undeclared, non-UTF-8 text whose detected charset is a Latin code page is decoded as
  windows-1252 (the browsers' default); detection cannot tell those apart on short texts.
  A declared charset that fails on over 10% of the non-ASCII bytes gives way to a later
  declaration or to detection, and the note says so (a stray bad byte does not).
* Bodies served as HTML are binary by their magic bytes or by a share of control bytes, not by
  any NUL: CMS bugs leave stray NULs in real pages (extraction strips them).
* Gzip is decompressed within a cap (`gunzip_capped`), never into memory first.
"""

from __future__ import annotations

import codecs
import re
import zlib

from wirehouse.tasks.fetch_errors import Fatal

SNIFF_BYTES = 4096  # where <meta charset> and the XML declaration must appear
MAX_SITEMAP_BYTES = 50_000_000  # the sitemap protocol's own limit, decompressed

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
XML_TYPES = frozenset(
    {
        "application/rss+xml", "application/atom+xml", "application/xml", "text/xml",
        "application/rdf+xml", "text/plain", "text/html", "application/xhtml+xml",
    }
)
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
GZIP_MAGIC = b"\x1f\x8b"

# WHATWG maps these labels to windows-1252; real pages labelled latin-1 use cp1252 punctuation.
_CP1252_ALIASES = frozenset(
    {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso_8859-1", "l1", "ascii", "us-ascii",
     "iso-ir-100", "cp819", "ibm819", "csisolatin1", "x-cp1252", "windows-1252", "cp1252"}
)
_LATIN_GUESSES = frozenset(
    {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin-1", "mac-roman", "mac-latin2", "mac-iceland",
     "cp437", "cp850", "cp858"} | {f"iso8859-{n}" for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)}
)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.I)
_HTML_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|title|meta|script|div|p)[\s>/]", re.I | re.S)
_XML_SNIFF = re.compile(rb"^\s*<(\?xml|rss|feed|rdf:rdf|urlset|sitemapindex)[\s>]", re.I)
_BINARY_MAGIC = (
    (b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP archive"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"), (GZIP_MAGIC, "gzip data"), (b"RIFF", "a RIFF file"), (b"ID3", "an MP3 file"),
)
# Binary sniffing: the share of C0 control bytes in the first BINARY_SAMPLE bytes. Text never holds
# them but for a stray NUL or two (CMS bugs); random or compressed bytes hold ~9%. TAB, LF, FF, CR
# and ESC/SO/SI (ISO-2022 encodings switch with them) are text.
BINARY_SAMPLE = 64 * 1024
MAX_CONTROL_SHARE = 0.02
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {0x09, 0x0A, 0x0C, 0x0D, 0x0E, 0x0F, 0x1B}))
MAX_UNDECODABLE_SHARE = 0.1  # of the non-ASCII bytes; a page in another charset fails on nearly all
_ASCII_BYTES = bytes(range(128))
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what errors="surrogateescape" makes of a byte that does not decode
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class BadGzip(ValueError):
    """Data that starts like gzip but does not decompress."""


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type lowercased, charset) of a Content-Type header; None for what is missing."""
    if not value:
        return None, None
    media_type, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return media_type.strip().lower() or None, charset


def type_ok(media_type: str, kind: str) -> bool:
    """Whether a media type is acceptable for a fetch kind (page, listing, feed, sitemap)."""
    if kind in ("page", "listing"):
        return media_type in HTML_TYPES
    if media_type in XML_TYPES or media_type.endswith("+xml"):
        return True
    # gzip sitemaps are served under assorted binary types
    return kind == "sitemap" and media_type in GZIP_TYPES


def check_type(content_type: str | None, kind: str) -> None:
    """Refuse (outcome not_html) an unwanted Content-Type before the body is read; a missing
    type is decided later, on the body (`decode_body`)."""
    media_type, _ = parse_content_type(content_type)
    if media_type and not type_ok(media_type, kind):
        raise Fatal("not_html", f"content type {media_type} is not acceptable for a {kind}", content_type=media_type)


def decode_body(data: bytes, content_type: str | None, charset: str | None, kind: str, max_bytes: int,
                text: bool = True) -> tuple[bytes, str | None, str, str | None]:
    """Check the content type (sniffing when missing), un-gzip sitemaps and choose the codec.

    Args:
        data: the body as read.
        content_type: its media type (lowercased), or None when not sent.
        charset: the Content-Type header's charset, or None.
        kind: page, listing, feed or sitemap.
        max_bytes: cap on a gzip sitemap, decompressed.
        text: decode to text; without it the codec and the note are still chosen (the caller
            decodes later, once).

    Returns:
        (body, text or None, codec, note on a declared charset that was not used, or None).

    Raises:
        Fatal: not_html (wrong type, binary), too_large or error (a gzip sitemap).
    """
    if content_type is None:
        head = data[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf")
        looks_html = bool(_HTML_SNIFF.match(head))
        looks_xml = bool(_XML_SNIFF.match(head)) or head.startswith(GZIP_MAGIC)
        if not (looks_html if kind in ("page", "listing") else looks_html or looks_xml):
            raise Fatal("not_html", f"no content type and the body does not look like {kind} markup")
    elif not type_ok(content_type, kind):
        raise Fatal("not_html", f"content type {content_type} is not acceptable for a {kind}")
    elif kind in ("page", "listing"):
        binary = binary_signature(data, charset)
        if binary:
            raise Fatal("not_html", f"the body is {binary}, though served as {content_type}")
    if kind == "sitemap" and data.startswith(GZIP_MAGIC):
        try:
            data, more = gunzip_capped(data, max_bytes)
        except BadGzip as exc:
            raise Fatal("error", f"bad gzip sitemap: {exc}") from None
        if more:
            raise Fatal("too_large", f"gzip sitemap exceeds {max_bytes} bytes (decompressed)")
    elif content_type in GZIP_TYPES:
        raise Fatal("not_html", f"content type {content_type} is not a gzip sitemap")
    encoding, note = choose_encoding(data, charset)
    return data, data.decode(encoding, errors="replace") if text else None, encoding, note


def binary_signature(data: bytes, charset: str | None) -> str | None:
    """What binary a body served as HTML really is (PDFs and images often are), or None for text."""
    head = data[:SNIFF_BYTES]
    for magic, name in _BINARY_MAGIC:
        if head.startswith(magic):
            return name
    wide = (charset or "").lower().startswith(("utf-16", "utf-32")) or head.startswith(tuple(b for b, _ in _BOMS[1:]))
    if wide:  # every other byte of UTF-16 text is a NUL
        return None
    sample = data[:BINARY_SAMPLE]
    control = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if control > MAX_CONTROL_SHARE * len(sample):
        return f"binary data ({control} control bytes in the first {len(sample)})"
    return None


def gunzip_capped(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Decompress gzip data without ever holding more than ``limit + 1`` bytes of output.

    Args:
        data: gzip data (its first member is read).
        limit: the most bytes of output wanted.

    Returns:
        (at most ``limit`` bytes of output, whether there was more).

    Raises:
        BadGzip: the data does not decompress.
    """
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadGzip(str(exc)) from None
    more = len(out) > limit or bool(decoder.unconsumed_tail)
    return out[:limit], more


def choose_encoding(data: bytes, header_charset: str | None) -> tuple[str, str | None]:
    """BOM, then HTTP charset, XML declaration, <meta> charset, UTF-8 check, detection.

    A declared charset that does not decode the bytes (a cp1251 page behind ``<meta charset=utf-8>``)
    gives way to a later declaration or to detection, when that decodes them.

    Returns:
        (codec, note): the note says what was done when a declared charset was not used.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, None
    head = data[:SNIFF_BYTES]
    labels = (header_charset, _match(_XML_DECL, head), _match(_META_CHARSET, head))
    declared = [c for c in dict.fromkeys(_codec(label) for label in labels) if c]
    if not declared:
        return _detect(data), None
    if _decodes(data, declared[0]):
        return declared[0], None
    for encoding in [*declared[1:], _detect(data)]:
        if encoding != declared[0] and _decodes(data, encoding):
            return encoding, f"declared {declared[0]} does not decode; decoded as {encoding}"
    return declared[0], None


def _detect(data: bytes) -> str:
    """The codec of undeclared bytes: UTF-8 when they decode as such, else charset_normalizer's guess."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        encoding = _codec(best.encoding) if best is not None else None
    except Exception:  # detection is best effort
        encoding = None
    # Detection cannot tell the Latin code pages apart on short texts (French comes out as
    # cp1257); undeclared Latin pages are overwhelmingly windows-1252, the browsers' default.
    if encoding is None or encoding in _LATIN_GUESSES:
        return "cp1252"
    return encoding


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether a codec fits the bytes: at most MAX_UNDECODABLE_SHARE of the non-ASCII bytes fail
    (a stray bad byte in a UTF-8 page is not a wrong charset)."""
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        pass
    except LookupError:
        return False
    bad = len(_UNDECODABLE.findall(data.decode(encoding, errors="surrogateescape")))
    non_ascii = len(data) - len(data.translate(None, _ASCII_BYTES))
    return bad <= MAX_UNDECODABLE_SHARE * non_ascii


def _match(pattern: re.Pattern[bytes], head: bytes) -> str | None:
    match = pattern.search(head)
    return match.group(1).decode("ascii", errors="replace") if match else None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, with WHATWG's latin-1 → windows-1252 rule."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _CP1252_ALIASES:
        return "cp1252"
    if label.startswith("utf-16"):  # a text-declared UTF-16 is impossible (WHATWG: use UTF-8)
        return "utf-8"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name
