"""Every write of the accounts domain, one module per use case: `profile` (profile edits
and the username), `devices` (devices and sessions), `lifecycle` (deactivation, deletion
and the purge), `avatars`, `exports` (data exports) and `status` (the active flag and the
verified badge, written by moderation and staff); shared helpers in `_common`. This package
re-exports the names callers use, so `from apps.accounts import services` keeps working
(patch a name in the module that uses it, not on the package)."""

from apps.accounts.services.avatars import (
    AVATAR_FORMATS,
    AVATAR_MAX_BYTES,
    AVATAR_MAX_SIDE,
    AVATAR_SIZES,
    user_avatar_delete,
    user_avatar_render,
    user_avatar_set,
    validate_avatar_image,
)
from apps.accounts.services.devices import (
    device_push_token_remove,
    device_record,
    device_update,
    user_session_end,
    user_sessions_end_all,
)
from apps.accounts.services.exports import (
    EXPORT_STUCK_AFTER,
    EXPORT_TTL,
    data_export_build,
    data_export_request,
    data_exports_expire,
)
from apps.accounts.services.lifecycle import (
    user_deactivate,
    user_deletion_cancel,
    user_deletion_schedule,
    user_on_login,
    users_purge_due,
)
from apps.accounts.services.profile import (
    MAX_LINK_LENGTH,
    MAX_LINKS,
    user_profile_update,
    user_username_change,
)
from apps.accounts.services.status import user_set_active, users_set_verified

__all__ = [
    "AVATAR_FORMATS",
    "AVATAR_MAX_BYTES",
    "AVATAR_MAX_SIDE",
    "AVATAR_SIZES",
    "EXPORT_STUCK_AFTER",
    "EXPORT_TTL",
    "MAX_LINKS",
    "MAX_LINK_LENGTH",
    "data_export_build",
    "data_export_request",
    "data_exports_expire",
    "device_push_token_remove",
    "device_record",
    "device_update",
    "user_avatar_delete",
    "user_avatar_render",
    "user_avatar_set",
    "user_deactivate",
    "user_deletion_cancel",
    "user_deletion_schedule",
    "user_on_login",
    "user_profile_update",
    "user_session_end",
    "user_sessions_end_all",
    "user_set_active",
    "user_username_change",
    "users_purge_due",
    "users_set_verified",
    "validate_avatar_image",
]
