"""``harmonize taxonomy ...``: list, show, validate and export the schema of taxonomy files.

Only typer is imported at module level; the library, pydantic and rich load inside the commands so
``harmonize --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect and validate taxonomy, ontology and mapping YAML files.",
    no_args_is_help=True,
)

_KINDS = ("dataset", "ontology", "mapping")


def _swatch(color) -> str:
    if color is None:
        return ""
    r, g, b = color
    return f"[on rgb({r},{g},{b})]    [/] {r:3d},{g:3d},{b:3d}"


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the shipped dataset taxonomies, ontologies and mappings."""
    from rich.console import Console
    from rich.markup import escape as esc
    from rich.table import Table

    from harmonize.errors import HarmonizeError
    from harmonize.taxonomy import list_files, load_file
    from harmonize.taxonomy.models import DatasetTaxonomy, Ontology

    cat = list_files()
    console = Console()
    table = Table(title=f"taxonomies in {cat.root}")
    for col in ("kind", "name", "title", "classes", "file"):
        table.add_column(col, no_wrap=col in ("kind", "name", "classes"))
    rows: list[tuple[str, str, Path]] = [
        *(("dataset", n, p) for n, p in cat.datasets.items()),
        *(("ontology", n, p) for n, p in cat.ontologies.items()),
        *(("mapping", f"{d} -> {o}", p) for (d, o), p in cat.mappings.items()),
    ]
    records: list[dict[str, Any]] = []
    for kind, name, path in rows:
        rec: dict[str, Any] = {"kind": kind, "name": name, "file": str(path.relative_to(cat.root))}
        records.append(rec)
        try:
            model = load_file(path)
        except HarmonizeError as exc:
            rec["error"] = exc.reason
            table.add_row(kind, name, f"[red]invalid: {esc(exc.reason)}[/]", "", path.name)
            continue
        if isinstance(model, DatasetTaxonomy):
            title, count = model.title, str(len(model.classes))
            rec.update(title=title, classes=len(model.classes))
        elif isinstance(model, Ontology):
            title, count = model.title, f"{len(model.nodes)} + {len(model.special)} special"
            rec.update(title=title, nodes=len(model.nodes), special=len(model.special))
        else:
            title, count = model.description or "", f"{len(model.rules)} rules"
            rec.update(title=title, rules=len(model.rules))
        table.add_row(kind, name, esc(title), count, str(path.relative_to(cat.root)))
    if as_json:
        import json

        typer.echo(json.dumps({"root": str(cat.root), "files": records}, indent=2))
        return
    if not rows:
        console.print(f"no taxonomy files under {cat.root}")
        return
    console.print(table)


def _find(name: str) -> Path:
    from harmonize.errors import MissingFileError
    from harmonize.taxonomy import list_files

    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    cat = list_files()
    for table in (cat.datasets, cat.ontologies):
        if name in table:
            return table[name]
    d, sep, o = name.replace("->", "__").replace(" ", "").partition("__")
    if sep and (d, o) in cat.mappings:
        return cat.mappings[(d, o)]
    known = sorted([*cat.datasets, *cat.ontologies, *(f"{d}__{o}" for d, o in cat.mappings)])
    raise MissingFileError(
        f"no taxonomy file named {name!r} (known: {', '.join(known) or 'none'})", path=cat.root
    )


@app.command("show")
def show_cmd(
    name: str = typer.Argument(
        ..., help="A dataset or ontology name, '<dataset>__<ontology>' for a mapping, or a path."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the file's model as JSON."),
) -> None:
    """Print one taxonomy file as a table (and an ontology's hierarchy as a tree)."""
    from rich.console import Console
    from rich.markup import escape as esc
    from rich.table import Table
    from rich.tree import Tree

    from harmonize.errors import HarmonizeError
    from harmonize.taxonomy import hierarchy as h
    from harmonize.taxonomy import load_file

    console = Console()
    try:
        model = load_file(_find(name))
    except HarmonizeError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {esc(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        import json

        typer.echo(json.dumps(model.model_dump(mode="json"), indent=2))
        return
    if model.kind == "dataset":
        table = Table(title=f"{model.name}: {model.title} ({len(model.classes)} classes)")
        for col in ("id", "name", "colour", "role", "instances", "category"):
            table.add_column(col, justify="right" if col == "id" else "left")
        for c in model.classes:
            table.add_row(
                str(c.id),
                esc(c.name),
                _swatch(c.color),
                c.role,
                "yes" if c.instances else "",
                esc(c.category or ""),
            )
        console.print(table)
        if model.encodings:
            enc = Table(title="encodings (file value = id + offset, except special)")
            for col in ("name", "dtype", "offset", "special"):
                enc.add_column(col)
            for i, e in enumerate(model.encodings):
                special = ", ".join(f"{k}->{v}" for k, v in e.special.items())
                default = " (default)" if i == 0 else ""
                enc.add_row(e.name + default, e.dtype, str(e.offset), special)
            console.print(enc)
            for e in model.encodings:
                console.print(f"[bold]{e.name}[/]: {esc(e.description)}")
                if e.instance:
                    console.print(f"  [dim]instances: {esc(e.instance)}[/]")
    elif model.kind == "ontology":
        table = Table(title=f"{model.name}: {model.title}")
        for col in ("id", "name", "colour", "parent", "role / things"):
            table.add_column(col, justify="right" if col == "id" else "left")
        for s in model.special:
            table.add_row(str(s.id), s.name, _swatch(s.color), "", f"special: {s.role}")
        for n in model.nodes:
            thing = "thing" if h.is_thing(model, n.name) else "stuff"
            table.add_row(str(n.id), n.name, _swatch(n.color), n.parent or "", thing)
        console.print(table)
        nodes = h.node_map(model)
        tree = Tree(f"[bold]{model.name}[/]")

        def add(parent_tree, name: str) -> None:
            node = nodes[name]
            r, g, b = node.color
            sub = parent_tree.add(f"[on rgb({r},{g},{b})]  [/] {esc(name)} [dim]({node.id})[/]")
            for child in h.children(model, name):
                add(sub, child)

        for root in h.roots(model):
            add(tree, root)
        console.print(tree)
    else:
        table = Table(title=f"mapping {model.dataset} -> {model.ontology}")
        for col in ("id", "name", "to", "kind", "note"):
            table.add_column(col, justify="right" if col == "id" else "left")
        style = {"exact": "", "coarse": "yellow", "approx": "red"}
        for r in model.rules:
            kind = f"[{style[r.kind]}]{r.kind}[/]" if style[r.kind] else r.kind
            others = [c for c in r.covers if c != r.to]
            to = r.to + (f" (covers also {', '.join(others)})" if others else "")
            table.add_row(str(r.id), esc(r.name or ""), to, kind, esc(r.note or ""))
        console.print(table)


def _yaml_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        else:
            out.append(p)
    return out


def _companion(mapping_path: Path, folder: str, name: str) -> Path | None:
    """The dataset/ontology file a mapping refers to: next to it first, then the shipped one."""
    from harmonize.taxonomy import list_files

    for suffix in (".yaml", ".yml"):
        local = mapping_path.parent.parent / folder / f"{name}{suffix}"
        if local.is_file():
            return local
    cat = list_files()
    return (cat.datasets if folder == "datasets" else cat.ontologies).get(name)


@app.command("validate")
def validate_cmd(
    paths: list[Path] = typer.Argument(
        None, help="YAML files or folders (default: every shipped file)."
    ),
) -> None:
    """Validate taxonomy files; mappings are also compiled against their dataset and ontology.

    Exit code 0 when every file is valid, 1 otherwise.
    """
    from rich.console import Console
    from rich.markup import escape as esc

    from harmonize.errors import HarmonizeError
    from harmonize.taxonomy import compile_mapping, list_files, load_file

    console = Console(highlight=False, soft_wrap=True)
    files = _yaml_files(paths) if paths else list_files().files()
    if not files:
        console.print("no YAML files to validate")
        raise typer.Exit(1)
    bad = 0
    for path in files:
        try:
            model = load_file(path)
            extra = ""
            if model.kind == "mapping":
                tax_path = _companion(path, "datasets", model.dataset)
                onto_path = _companion(path, "ontologies", model.ontology)
                if tax_path is None or onto_path is None:
                    missing = "dataset taxonomy" if tax_path is None else "ontology"
                    name = model.dataset if tax_path is None else model.ontology
                    raise HarmonizeError(
                        f"cannot cross-check: no {missing} file named {name!r}", path=path
                    )
                cm = compile_mapping(
                    load_file(tax_path, kind="dataset"),
                    load_file(onto_path, kind="ontology"),
                    model,
                )
                n_out = len({int(v) for v in cm.lut[cm.declared]})
                extra = f" ({len(model.rules)} rules -> {n_out} output ids)"
            console.print(f"[green]OK[/]    {path}{extra}")
        except HarmonizeError as exc:
            bad += 1
            console.print(f"[red]ERROR[/] {esc(str(exc))}")
    total = len(files)
    summary = f"{total - bad}/{total} valid"
    console.print(f"[bold]{summary}[/]" if not bad else f"[bold red]{summary}[/]")
    if bad:
        raise typer.Exit(1)


@app.command("schema")
def schema_cmd(
    kind: str | None = typer.Option(
        None, "--kind", help="dataset, ontology or mapping (default: any kind, by `kind`)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write <kind>.schema.json files into this folder instead of printing."
    ),
) -> None:
    """Print (or write) the JSON Schema of the taxonomy files, for editors."""
    import json

    from pydantic import TypeAdapter

    from harmonize.taxonomy.loader import KINDS
    from harmonize.taxonomy.models import TaxonomyFile

    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(_KINDS)}", param_hint="--kind")

    def schema_of(k: str | None) -> dict:
        if k is None:
            sch = TypeAdapter(TaxonomyFile).json_schema()
            sch["title"] = "harmonize taxonomy file"
        else:
            sch = KINDS[k].model_json_schema()
        sch["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return sch

    if out is None:
        typer.echo(json.dumps(schema_of(kind), indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for k in [kind] if kind else [*_KINDS, None]:
        target = out / f"{k or 'taxonomy'}.schema.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(schema_of(k), indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)
        typer.echo(f"wrote {target}")


@app.command("reverse")
def reverse_cmd(
    ontology: str = typer.Argument(..., help="The ontology a model predicts in (e.g. nuclei)."),
    dataset: str = typer.Argument(
        ..., help="The dataset (or ontology, e.g. consep-4) to evaluate on."
    ),
    via: str | None = typer.Option(
        None, "--via", help="Bridge dataset when the target is an ontology."
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Write this encoding's file values instead of class ids."
    ),
    unmatched: str = typer.Option(
        "ignore",
        "--unmatched",
        help="Where ontology classes without counterpart go: ignore or background.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the table and report as JSON."),
) -> None:
    """Show the evaluation mapping from an ontology back onto a dataset's own classes.

    Lists, for every ontology id, the dataset id a prediction is rewritten to and by which rule,
    then what is lossy: collisions, collapsed classes, ambiguous and unmatched ontology classes,
    dataset classes that cannot be recovered.
    """
    import json

    from rich.console import Console
    from rich.markup import escape as esc
    from rich.table import Table

    from harmonize.taxonomy.reverse import evaluation_mapping

    cm = evaluation_mapping(
        ontology,
        dataset,
        via=via,
        encoding=encoding,
        unmatched=unmatched,  # type: ignore[arg-type]
    )
    r = cm.report
    if as_json:
        out = {**r, "lut": cm.lut.tolist(), "background_id": cm.background}
        typer.echo(json.dumps(out, indent=2))
        return
    console = Console(highlight=False, soft_wrap=True)
    via_txt = f" via {r['via']}" if r["via"] else ""
    table = Table(title=f"evaluation mapping {r['ontology']} -> {r['target']}{via_txt}")
    for col in ("id", "ontology class", "->", "target class", "rule", "through"):
        table.add_column(col, justify="right" if col in ("id", "->") else "left")
    style = {"ambiguous": "red", "unmatched": "yellow", "ancestor": "cyan", "descendant": "cyan"}
    for row in r["rows"]:
        rule = row["rule"]
        shown = f"[{style[rule]}]{rule}[/]" if rule in style else rule
        table.add_row(
            str(row["id"]),
            row["name"],
            str(row["to"]),
            esc(row["to_name"]),
            shown,
            row["through"] or "",
        )
    console.print(table)
    ign = r["ignore"]
    console.print(
        f"ignore value: {ign['id']} ({esc(ign['name'])}{', not a class of the target' if ign['fresh'] else ''})"
    )
    for c in r["collisions"]:
        names = ", ".join(f"{x['id']} {esc(x['name'])}" for x in c["candidates"])
        console.print(f"[red]collision[/] {c['node']}: {names} -> kept {c['chosen']}")
    for c in r["collapsed"]:
        console.print(f"[cyan]collapsed[/] {', '.join(c['from'])} -> {c['to']} {esc(c['to_name'])}")
    for c in r["ambiguous"]:
        names = ", ".join(esc(x["name"]) for x in c["candidates"])
        console.print(f"[red]ambiguous[/] {c['name']}: coarser than {names} -> ignore")
    if r["unmatched"]:
        names = ", ".join(x["name"] for x in r["unmatched"])
        console.print(f"[yellow]unmatched[/] ({len(r['unmatched'])}): {names}")
    for c in r["unrecoverable"]:
        console.print(f"[red]unrecoverable[/] {c['id']} {esc(c['name'])}: {esc(c['reason'])}")
    for c in r["approx"]:
        console.print(
            f"[yellow]approx[/] {c['id']} {esc(str(c['name']))} -> {c['to']} ({c['mapping']})"
        )
    verdict = "[green]yes[/]" if r["round_trip"] else "[red]no[/]"
    console.print(f"native -> {r['ontology']} -> native is the identity: {verdict}")
