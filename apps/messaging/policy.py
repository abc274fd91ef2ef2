"""Who may message whom, and what: the one place messaging's services ask before they
write. (Owned by the safety work of issue 15; the minors rules themselves live in
`apps.content.audience`.)"""

from __future__ import annotations
