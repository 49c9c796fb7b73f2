"""Taxonomies: dataset taxonomies, ontologies and mappings (YAML), and the mapping compiler.

>>> from harmonize.taxonomy import load_taxonomy, load_ontology, load_mapping, compile_mapping
>>> tax, onto = load_taxonomy("consep"), load_ontology("consep-4")
>>> [c.name for c in tax.classes[:4]]
['background', 'other', 'inflammatory', 'healthy epithelial']
>>> [n.name for n in onto.nodes]
['other', 'inflammatory', 'epithelial', 'spindle-shaped']
>>> cm = compile_mapping(tax, onto, load_mapping("consep", "consep-4"))
>>> cm.lut  # CoNSeP class id -> consep-4 id
array([0, 1, 2, 3, 3, 4, 4, 4], dtype=uint8)
>>> cm.class_names[3]
'epithelial'

Files are found by name under :func:`taxonomies_dir` (see :mod:`harmonize.taxonomy.catalog`) or
loaded from any path. Every error is a :class:`harmonize.errors.TaxonomyError` naming file and line.
"""

from __future__ import annotations

from harmonize.taxonomy.catalog import (
    ENV_VAR,
    Catalog,
    list_files,
    load_mapping,
    load_ontology,
    load_taxonomy,
    taxonomies_dir,
)
from harmonize.taxonomy.compile import compile_mapping, file_values, resolve_level
from harmonize.taxonomy.loader import line_of, load_file, source_of, validate_data
from harmonize.taxonomy.models import (
    DatasetTaxonomy,
    Encoding,
    Level,
    Mapping,
    MappingRule,
    NativeClass,
    Ontology,
    OntologyNode,
    SpecialValue,
)

__all__ = [
    "ENV_VAR",
    "Catalog",
    "DatasetTaxonomy",
    "Encoding",
    "Level",
    "Mapping",
    "MappingRule",
    "NativeClass",
    "Ontology",
    "OntologyNode",
    "SpecialValue",
    "compile_mapping",
    "file_values",
    "line_of",
    "list_files",
    "load_file",
    "load_mapping",
    "load_ontology",
    "load_taxonomy",
    "resolve_level",
    "source_of",
    "taxonomies_dir",
    "validate_data",
]
