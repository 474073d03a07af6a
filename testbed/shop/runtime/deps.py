"""What a servicer needs from around it: its logger, channels to its dependencies, auth."""

from __future__ import annotations

import logging
import threading

import grpc

from testbed.shop.runtime.auth import Authenticator, jwks_key_source, static_key_source
from testbed.shop.runtime.clients import open_channel
from testbed.shop.runtime.jsonlog import configure
from testbed.shop.runtime.settings import ServiceSettings


class Toolkit:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.logger = configure(settings.service, settings.log_level)
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()
        self._auth: Authenticator | None = None

    def channel(self, dep: str) -> grpc.Channel:
        with self._lock:
            if dep not in self._channels:
                self._channels[dep] = open_channel(self.settings.dep(dep))
            return self._channels[dep]

    def authenticator(self) -> Authenticator:
        """Verifies tokens with the configured public key, or keys fetched from the user service."""
        if self._auth is None:
            if self.settings.jwt_public_key_file is not None:
                keys = static_key_source(self.settings.jwt_public_key_file)
            else:
                keys = jwks_key_source(self.channel("user"))
            self._auth = Authenticator(keys)
        return self._auth

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
