"""Live pages of promotions (placeholder until the incident desk lands)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class IncidentDeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.close()
