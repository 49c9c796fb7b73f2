"""Tree helpers over an :class:`~harmonize.taxonomy.models.Ontology`: parents, children, depth, cuts.

All functions take node *names*. They assume an ontology that passed
:func:`harmonize.taxonomy.checks.check_ontology` (unique names, known parents, no cycle); on an
unchecked ontology with a cycle, :func:`ancestors` stops at the first repeated node rather than loop.
"""

from __future__ import annotations

from collections.abc import Iterable

from harmonize.taxonomy.models import Ontology, OntologyNode

__all__ = [
    "ancestors",
    "children",
    "cut_at_depth",
    "depth",
    "descendants",
    "is_antichain",
    "is_thing",
    "leaves",
    "leaves_under",
    "node_map",
    "parent_map",
    "roll_up",
    "roots",
]


def _memo(ontology: Ontology) -> dict:
    memo = getattr(ontology, "_memo", None)
    return memo if memo is not None else {}


def node_map(ontology: Ontology) -> dict[str, OntologyNode]:
    """Node name -> node, in file order (do not mutate: it is cached on the model)."""
    memo = _memo(ontology)
    if "nodes" not in memo:
        memo["nodes"] = {n.name: n for n in ontology.nodes}
    return memo["nodes"]


def parent_map(ontology: Ontology) -> dict[str, str | None]:
    """Node name -> parent name, ``None`` for a root (do not mutate: cached on the model)."""
    memo = _memo(ontology)
    if "parents" not in memo:
        memo["parents"] = {n.name: n.parent for n in ontology.nodes}
    return memo["parents"]


def children(ontology: Ontology, name: str | None) -> list[str]:
    """Direct children of node ``name`` in file order; ``name=None`` gives the roots."""
    return [n.name for n in ontology.nodes if n.parent == name]


def roots(ontology: Ontology) -> list[str]:
    """Nodes without a parent, in file order."""
    return children(ontology, None)


def ancestors(ontology: Ontology, name: str) -> list[str]:
    """Ancestors of ``name``, nearest first (the parent, ..., the root); ``name`` excluded.

    Raises
    ------
    KeyError
        When ``name`` is not a node of the ontology.
    """
    memo = _memo(ontology).setdefault("ancestors", {})
    if name in memo:
        return list(memo[name])
    parents = parent_map(ontology)
    if name not in parents:
        raise KeyError(f"{name!r} is not a node of ontology {ontology.name!r}")
    out: list[str] = []
    seen = {name}
    cur = parents[name]
    while cur is not None and cur not in seen and cur in parents:
        out.append(cur)
        seen.add(cur)
        cur = parents[cur]
    memo[name] = tuple(out)
    return out


def descendants(ontology: Ontology, name: str) -> list[str]:
    """Every node below ``name`` (children, grandchildren, ...), breadth first."""
    kids: dict[str | None, list[str]] = {}
    for n in ontology.nodes:
        kids.setdefault(n.parent, []).append(n.name)
    out: list[str] = []
    queue = list(kids.get(name, []))
    seen = {name}
    while queue:
        cur = queue.pop(0)
        if cur in seen:
            continue
        seen.add(cur)
        out.append(cur)
        queue.extend(kids.get(cur, []))
    return out


def depth(ontology: Ontology, name: str) -> int:
    """Depth of ``name``: 0 for a root, 1 for its children, ..."""
    return len(ancestors(ontology, name))


def leaves(ontology: Ontology) -> list[str]:
    """Nodes without children, in file order."""
    has_child = {n.parent for n in ontology.nodes}
    return [n.name for n in ontology.nodes if n.name not in has_child]


def leaves_under(ontology: Ontology, name: str) -> list[str]:
    """The leaves of ``name``'s subtree (``[name]`` when it is a leaf)."""
    has_child = {n.parent for n in ontology.nodes}
    below = descendants(ontology, name)
    return [d for d in below if d not in has_child] or [name]


def is_thing(ontology: Ontology, name: str) -> bool:
    """Whether ``name`` is a *thing* class (has instances).

    The node's own ``instances`` if set, else the nearest ancestor's; ``True`` when unset everywhere
    (most ontologies here are all things: nuclei).
    """
    nodes = node_map(ontology)
    for cur in [name, *ancestors(ontology, name)]:
        flag = nodes[cur].instances
        if flag is not None:
            return flag
    return True


def is_antichain(ontology: Ontology, names: Iterable[str]) -> tuple[str, str] | None:
    """``None`` when no node of ``names`` is an ancestor of another, else one offending pair.

    Returns
    -------
    (ancestor, descendant) or None
    """
    chosen = set(names)
    for name in chosen:
        for anc in ancestors(ontology, name):
            if anc in chosen:
                return anc, name
    return None


def cut_at_depth(ontology: Ontology, d: int) -> list[str]:
    """The cut at depth ``d``: every node at depth ``d`` plus the leaves shallower than ``d``."""
    leaf = set(leaves(ontology))
    out = []
    for n in ontology.nodes:
        k = depth(ontology, n.name)
        if k == d or (k < d and n.name in leaf):
            out.append(n.name)
    return out


def roll_up(ontology: Ontology, name: str, cut: Iterable[str]) -> str | None:
    """Nearest ancestor-or-self of ``name`` in ``cut``, or ``None`` when no cut node covers it."""
    chosen = set(cut)
    for cur in [name, *ancestors(ontology, name)]:
        if cur in chosen:
            return cur
    return None
