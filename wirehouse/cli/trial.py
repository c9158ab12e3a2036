"""`wirehouse try`: what a URL or a source would give, printed; nothing is written (`flows.trial`)."""

from __future__ import annotations

import logging

from wirehouse.cli.common import EXIT_OK, EXIT_USAGE, CliError


def cmd_try(args) -> int:
    if bool(args.url) == bool(args.source):
        raise CliError("give a URL or --source NAME (one of them)", EXIT_USAGE)
    if args.pages < 1:
        raise CliError("--pages must be at least 1", EXIT_USAGE)
    if args.host_delay is not None and args.host_delay < 0:
        raise CliError("--host-delay must be >= 0", EXIT_USAGE)
    if args.source:
        from wirehouse.config import ConfigError, load_sources

        try:   # before the stages are imported: a wrong name is one quick line
            names = [s.name for s in load_sources(args.sources).sources]
        except ConfigError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        if args.source not in names:
            raise CliError(f"{args.sources}: no source named {args.source!r} (sources: {', '.join(names)})", EXIT_USAGE)
    from wirehouse.flows.trial import TrialError, try_source, try_url

    _quiet_logs(args.verbose)   # after the import: prefect sets the loggers up when it loads

    try:
        if args.source:
            trial = try_source(args.sources, args.source, args.pages, contact_url=args.contact_url)
        else:
            kwargs = {"host_delay": args.host_delay} if args.host_delay is not None else {}
            trial = try_url(args.url, args.pages, kind=args.kind, allow_private=args.allow_private_network,
                            contact_url=args.contact_url, **kwargs)
    except TrialError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    print(render(trial))
    return EXIT_OK


def _quiet_logs(verbose: bool) -> None:
    """The stages' log lines say what the printout says: on the terminal only with -v."""
    level = logging.INFO if verbose else logging.ERROR
    for name in ("wirehouse", "trafilatura", "htmldate", "courlan", "justext", "urllib3", "charset_normalizer"):
        logging.getLogger(name).setLevel(level if name == "wirehouse" else max(level, logging.WARNING))


def render(trial) -> str:
    """A `flows.trial.Trial` as text: entry points, then each page, then the totals."""
    out: list[str] = []
    what = f"source {trial.target}" if trial.kind == "source" else f"{trial.target} ({trial.kind})"
    tried = len(trial.pages)
    out.append(f"try {what}: {trial.candidates} candidate URL{'s' if trial.candidates != 1 else ''}, {tried} tried")
    if trial.discovery:
        out.append("")
        out.append("entry points:")
        for d in trial.discovery:
            reason = f"  {d['reason']}" if d.get("reason") else ""
            out.append(f"  {d['kind']:<8} {d['outcome']:<11} {d['url']}{reason}")
    if trial.capped:
        out.append(f"  sitemap cap: {trial.capped} older URLs left out (the newest taken)")
    for number, page in enumerate(trial.pages, start=1):
        out.append("")
        label = "would land" if page.disposition == "article" else f"refused ({page.category()})"
        out.append(f"[{number}] {label}: {page.url}")
        if page.disposition != "article":
            out.append(f"    why:      {page.reason or page.outcome}")
            continue
        out.append(f"    title:    {page.title or '(none)'}")
        facts = [f"date {page.published or '(none)'}", f"{page.words} words"]
        if page.language:
            facts.append(f"language {page.language}")
        out.append("    " + ", ".join(facts))
        for index, line in enumerate(page.lines):
            out.append(("    text:     " if index == 0 else "              ") + line)
        out.append("    entities: " + ("; ".join(page.entities) if page.entities else "(none)"))
        out.append("    events:   " + ("\n              ".join(page.events) if page.events else "(none)"))
        if page.note:
            out.append(f"    note:     {page.note}")
    out.append("")
    tally = trial.tally()
    refused = {k: v for k, v in tally.items() if k != "landed"}
    counts = trial.counts
    out.append(
        f"would land: {counts.get('articles', 0)} articles, {counts.get('entities', 0)} entities, "
        f"{counts.get('mentions', 0)} mentions, {counts.get('events', 0)} events"
        + ("; refused pages: " + ", ".join(f"{v} {k}" for k, v in sorted(refused.items())) if refused else "")
    )
    for check, count in sorted(trial.refused_rows.items()):
        out.append(f"quarantined rows: {count} {check}")
    if trial.candidates > tried:
        out.append(f"{trial.candidates - tried} more candidate URLs not tried (--pages {tried})")
    out.append("nothing was written: try never opens the warehouse")
    return "\n".join(out)
