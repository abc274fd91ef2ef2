"""Migrating a test database back and forth on the part of the graph a data migration lives in.

Django's executor renders the project state of every applied migration in its graph before it
moves (and again, model by model, for each migration it unapplies): with the whole project's
~300 migrations that is ~10 s of CPU per move, four moves in a back-and-forth migration test.
`migrate` here gives the executor a graph cut to the named apps' migrations and everything they
depend on, plus every migration that depends on a migration being unapplied (and its app):
the same operations run on the same database, their `apps` registry holding only the models
the migrations declare they need (a RunPython that reaches an undeclared app fails here,
stricter than a full `migrate`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.graph import MigrationGraph

Key = tuple[str, str]


def _apps_touched(graph: MigrationGraph, apps: set[str], targets: Iterable[Key]) -> set[str]:
    """`apps` and the app of every migration that depends on one a target would unapply."""
    touched = set(apps)
    for app, name in targets:
        kept = set(graph.forwards_plan((app, name)))
        for key in graph.nodes:
            if key[0] == app and key not in kept:
                touched |= {dependent[0] for dependent in graph.backwards_plan(key)}
    return touched


def _cut(graph: MigrationGraph, apps: set[str]) -> None:
    """Keep only `apps`' migrations and their ancestors (a closed set: every kept node's
    parents are kept, so the states the executor builds are whole)."""
    keep: set[Key] = set()
    for leaf in graph.leaf_nodes():
        if leaf[0] in apps:
            keep |= set(graph.forwards_plan(leaf))
    for key in [key for key in graph.nodes if key not in keep]:
        del graph.nodes[key]
        del graph.node_map[key]
    for node in graph.node_map.values():
        node.children = {child for child in node.children if child.key in keep}


def migrate(apps: Iterable[str], targets: list[Key] | None = None) -> None:
    """Migrate to `targets` (None: the latest migration of every app kept) on the graph cut
    to `apps` and whatever unapplying the targets' later migrations reaches (going forward:
    the apps of every migration not applied)."""
    apps = set(apps)
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    if targets is None:  # forward: also the apps of any migration a move back unapplied
        applied = executor.loader.applied_migrations
        touched = apps | {key[0] for key in graph.nodes if key not in applied}
    else:
        touched = _apps_touched(graph, apps, targets)
    _cut(graph, touched)
    executor.migrate(targets if targets is not None else graph.leaf_nodes())
