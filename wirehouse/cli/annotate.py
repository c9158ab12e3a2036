"""`wirehouse annotate`: JSON lines in, entities and events out, one line per input line.

A bad line gets an {"id", "error"} line in its place and a message on stderr; the exit code is then 1.
"""

from __future__ import annotations

import sys

from wirehouse.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError


class _BadNumber(ValueError):
    """A JSON number that cannot be written back as JSON: NaN, Infinity, 1e999."""


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _BadNumber(f"a number out of range ({text[:20]})")
    return value


def _no_constant(name: str):
    raise _BadNumber(f"{name} is not a JSON number")


def _json_object(line: str):
    import json

    return json.loads(line, parse_float=_finite_float, parse_constant=_no_constant)


def _annotate_record(line_number: int, raw: bytes | str) -> tuple[dict | None, str | None]:
    """One input line as (record, None), or (the line's JSON object if any, a one-line reason).

    Every fault of the line itself is a reason here, never an exception: bytes that are not
    UTF-8, nesting too deep for the parser, numbers Python will not read, lone surrogates.
    """
    import json
    from datetime import date

    where = f"line {line_number}"
    if isinstance(raw, bytes):
        if line_number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]   # a UTF-8 byte order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"{where}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    else:
        line = raw
    try:
        record = _json_object(line)
    except json.JSONDecodeError as exc:
        return None, f"{where}: not JSON ({exc.msg})"
    except RecursionError:
        return None, f"{where}: JSON nested too deeply"
    except _BadNumber as exc:
        return None, f"{where}: {exc}"
    except ValueError:   # an integer longer than Python reads (sys.get_int_max_str_digits)
        limit = sys.get_int_max_str_digits()
        try:   # the id, if the rest of the line holds it
            record = json.loads(line, parse_int=lambda s: int(s) if len(s) <= limit else None,
                                parse_float=_finite_float, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            record = None
        return record if isinstance(record, dict) else None, f"{where}: a number has more than {limit} digits"
    if not isinstance(record, dict):
        return None, f"{where}: expected a JSON object"
    if "id" not in record:
        return record, f"{where}: missing \"id\""
    if not isinstance(record.get("text"), str):
        return record, f"{where}: \"text\" must be a string"
    try:
        record["text"].encode("utf-8")
    except UnicodeEncodeError as exc:   # "\ud800" alone decodes to no character
        return record, f"{where}: \"text\" is not valid Unicode (a lone surrogate at character {exc.start})"
    published = record.get("published_at")
    if published is not None:
        try:
            date.fromisoformat(str(published)[:10])
        except ValueError:
            return record, f"{where}: \"published_at\" is not an ISO date: {str(published)[:40]!r}"
    return record, None


def _json_line(obj: dict) -> bytes:
    """One output line as UTF-8; an id holding a lone surrogate is written escaped (still JSON)."""
    import json

    try:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, ensure_ascii=True) + "\n").encode("ascii")


def _annotated(records: list[tuple[int, dict]]):
    """(line, output, None) or (line, None, reason) per record, in order, each as soon as it is done.

    The records go through the model together; if that raises, the ones not yet done are annotated
    one by one, so only the record at fault gets an error and no other is lost.
    """
    from wirehouse.tasks.annotate import annotate_records, iter_annotated_records

    done = 0
    try:
        for output in iter_annotated_records([record for _, record in records]):
            yield records[done][0], output, None
            done += 1
        return
    except Exception:   # noqa: BLE001 - which record failed is found below, one by one
        pass
    for number, record in records[done:]:
        try:
            (output,) = annotate_records([record])
        except Exception as exc:   # noqa: BLE001 - the contract: an error line, never a lost batch
            reason = (str(exc).splitlines() or [""])[0][:200]
            yield number, None, f"line {number}: annotation failed ({type(exc).__name__}: {reason})"
        else:
            yield number, output, None


def cmd_annotate(args) -> int:
    if args.batch_size < 1:
        raise CliError("--batch-size must be at least 1", EXIT_USAGE)
    failures = 0
    pending: list[tuple[int, dict | None, dict | None]] = []   # in input order: (line, record to annotate, error line)
    source = getattr(sys.stdin, "buffer", sys.stdin)   # bytes: a line that is not UTF-8 is one bad line
    sink = getattr(sys.stdout, "buffer", None)

    def write(obj: dict) -> None:
        line = _json_line(obj)
        if sink is not None:
            sink.write(line)
            sink.flush()
        else:
            sys.stdout.write(line.decode("utf-8"))
            sys.stdout.flush()

    def fail(number: int, record: dict | None, error: str) -> None:
        nonlocal failures
        failures += 1
        print(f"wirehouse annotate: {error}", file=sys.stderr)
        write({"id": (record or {}).get("id"), "line": number, "error": error})

    def flush() -> None:
        results = _annotated([(number, record) for number, record, error in pending if error is None])
        for number, record, error in pending:
            if error is not None:
                fail(number, record, error)
                continue
            _, output, reason = next(results)
            if reason is None:
                write(output)
            else:
                fail(number, record, reason)
        pending.clear()

    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        record, error = _annotate_record(number, raw)
        pending.append((number, record, error))
        if len(pending) >= args.batch_size:
            flush()
    flush()
    return EXIT_FAILED if failures else EXIT_OK
