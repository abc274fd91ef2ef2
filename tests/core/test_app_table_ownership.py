"""Each app writes only its own tables, through the owner app's services (issue 12, the
house: moderation updated `Post` and `User` rows directly).

A static scan of apps/: every ORM write called on another app's model manager
(`Model.objects...update/delete/create/bulk_create/bulk_update/get_or_create/
update_or_create`, the model imported from `apps.<other>.models`) fails the test, unless it
is one of the two documented kinds below. An app is the deepest package with a `models.py`
(so `moderation.detection` is not `moderation`). Not seen by the scan: `.save()` on an
instance fetched from another app, and writes through related managers; reviews catch those.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WRITES = {"update", "delete", "create", "bulk_create", "bulk_update", "get_or_create",
          "update_or_create"}

# Denormalised counters kept by the app whose rows they count, with F() in the same
# transaction as the rows (documented in each service): only `*_count` columns.
COUNTERS = {
    ("apps.comments", "Post"),     # comments_count
    ("apps.engagement", "Post"),   # likes/favourites/shares/views counts
    ("apps.social", "User"),       # followers_count, following_count
}

# Demo and benchmark data generators: bulk rows of every app by design, never run by users.
SEEDERS = ("apps/web/seed/", "apps/web/management/commands/seed_demo.py",
           "apps/feed/management/commands/feed_seed_bench.py")


def _owner(module: str, root: Path) -> str:
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        package = root.joinpath(*parts[:n])
        if package.is_dir() and (package / "models.py").exists():
            return ".".join(parts[:n])
    return ".".join(parts[:2])


def _manager_model(call: ast.Call) -> str | None:
    """`X` when the call is `X.objects.<chain>.<write>(...)`."""
    node: ast.expr = call.func
    assert isinstance(node, ast.Attribute)
    node = node.value
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute) and node.attr != "objects":
            node = node.value
        else:
            break
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id
    return None


def _only_counters(call: ast.Call) -> bool:
    if call.args:
        return False
    names = [kw.arg for kw in call.keywords]
    if None in names:  # **values: the service builds them from its counter columns
        return True
    return all(name is not None and name.endswith("_count") for name in names)


def cross_app_writes(root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / "apps").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if "/migrations/" in rel or rel.startswith(SEEDERS):
            continue
        module = rel[:-3].replace("/", ".")
        writer = _owner(module, root)
        tree = ast.parse(path.read_text())
        models: dict[str, str] = {}
        for node in ast.walk(tree):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("apps.") and node.module.endswith(".models")):
                for alias in node.names:
                    models[alias.asname or alias.name] = node.module.removesuffix(".models")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in WRITES):
                continue
            model = _manager_model(node)
            owner = models.get(model or "")
            if owner is None or owner == writer:
                continue
            if ((writer, model) in COUNTERS and node.func.attr == "update"
                    and _only_counters(node)):
                continue
            found.append(f"{rel}:{node.lineno} {model}.objects...{node.func.attr}() "
                         f"({writer} writing {owner}'s table)")
    return found


def test_no_app_writes_another_apps_tables():
    assert cross_app_writes() == [], (
        "Write through the owner app's services (e.g. content.services."
        "post_set_moderation_flags, accounts.services.user_set_active).")


def test_the_scan_sees_a_cross_app_write(tmp_path):
    """The scan is not vacuous: moderation's old direct write is found."""
    package = tmp_path / "apps" / "moderation"
    package.mkdir(parents=True)
    (package / "models.py").write_text("")
    (package / "enforcement.py").write_text(
        "from apps.accounts.models import User\n"
        "from apps.content.models import Post\n"
        "def ban(pk):\n"
        "    User.objects.filter(pk=pk).update(is_active=False)\n"
        "    Post.objects.filter(author_id=pk).update(likes_count=0)\n")
    assert cross_app_writes(tmp_path) == [
        "apps/moderation/enforcement.py:4 User.objects...update() "
        "(apps.moderation writing apps.accounts's table)",
        "apps/moderation/enforcement.py:5 Post.objects...update() "
        "(apps.moderation writing apps.content's table)",
    ]
