"""One door to the destinations: an AdConnection in, the connector for its platform out."""
from __future__ import annotations

from backend.audiences.models import AdConnection, Platform

from .interface import Destination


def destination_for(connection: AdConnection) -> Destination:
    if connection.platform == Platform.META:
        from .meta.client import MetaAudiences

        return MetaAudiences(connection.account_id, connection.access_token)
    if connection.platform == Platform.GOOGLE:
        from .google.client import GoogleAudiences

        return GoogleAudiences(connection.account_id, connection.access_token,
                               login_account_id=connection.login_account_id)
    raise ValueError(f"no destination for platform {connection.platform!r}")
