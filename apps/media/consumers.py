"""Progress of an asset on a websocket, for its owner only: the current status on
connect, then every change the services push after commit."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.media import services
from apps.media.models import MediaAsset


@database_sync_to_async
def _status_for_owner(user_id: int, asset_id: int) -> dict[str, Any] | None:
    asset = MediaAsset.objects.filter(pk=asset_id, owner_id=user_id).first()
    return services.asset_status(asset) if asset is not None else None


class AssetProgressConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        asset_id = int(self.scope["url_route"]["kwargs"]["asset_id"])
        if user is None or not user.is_authenticated or asset_id > 2**63 - 1:
            await self.close(code=4403)
            return
        current = await _status_for_owner(int(user.pk), asset_id)
        if current is None:
            await self.close(code=4404)  # someone else's asset looks like a missing one
            return
        self.group = services.asset_group(asset_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "asset.status", **current})

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def asset_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "asset.status", **event["status"]})
