"""Connector settings: a JSON file, with secrets from the environment.

Client id/secret and username/password may live in the file or, better, in
``SMAPPEE_CLIENT_ID``, ``SMAPPEE_CLIENT_SECRET``, ``SMAPPEE_USERNAME`` and
``SMAPPEE_PASSWORD`` (the environment wins). ``repr`` never shows them.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "https://app1pub.smappee.net/dev"


class ConfigError(ValueError):
    """The connector's configuration is incomplete or wrong."""


@dataclass(frozen=True)
class Station:
    """Where a Smappee station (and connector) sits in our OCPI locations."""

    location_id: str
    evse_uid: str
    connector_id: str


@dataclass
class SmappeeConfig:
    service_locations: list[str]
    stations: dict[str, Station]  # "serial" or "serial/connector" -> Station
    client_id: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    token_url: str = ""
    currency: str = "EUR"
    token_owners: dict[str, str] = field(default_factory=dict)  # rfid or "*" -> "CC/PID"
    interval_seconds: float = 60.0
    active_window_days: float = 7.0
    overlap_seconds: float = 3600.0
    timeout: float = 15.0

    def __post_init__(self) -> None:
        if not self.token_url:
            self.token_url = f"{self.base_url.rstrip('/')}/v1/oauth2/token"

    def station(self, serial: Any, connector: Any = None) -> Station | None:
        if connector is not None and (s := self.stations.get(f"{serial}/{connector}")):
            return s
        return self.stations.get(str(serial))

    def token_owner(self, uid: str | None) -> tuple[str, str] | None:
        owner = self.token_owners.get(uid or "") or self.token_owners.get("*")
        if not owner:
            return None
        cc, _, pid = owner.partition("/")
        return cc.upper(), pid.upper()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "SmappeeConfig":
        env = os.environ
        secrets = {k: env.get(f"SMAPPEE_{k.upper()}") or str(raw.get(k) or "")
                   for k in ("client_id", "client_secret", "username", "password")}
        missing = [k for k, v in secrets.items() if not v]
        if missing:
            raise ConfigError(f"missing {', '.join(missing)} (in the file or as SMAPPEE_* "
                              "environment variables)")
        parks = [str(p) for p in raw.get("service_locations") or []]
        if not parks:
            raise ConfigError("service_locations: list at least one charging park id")
        stations = {}
        for key, value in (raw.get("stations") or {}).items():
            try:
                stations[str(key)] = Station(str(value["location_id"]), str(value["evse_uid"]),
                                             str(value["connector_id"]))
            except (KeyError, TypeError):
                raise ConfigError(f"stations.{key}: needs location_id, evse_uid and "
                                  "connector_id") from None
        known = {"base_url", "token_url", "currency", "token_owners", "interval_seconds",
                 "active_window_days", "overlap_seconds", "timeout"}
        extra = {k: raw[k] for k in known if k in raw}
        for k in ("interval_seconds", "active_window_days", "overlap_seconds", "timeout"):
            if k in extra:
                try:
                    extra[k] = float(extra[k])
                except (TypeError, ValueError):
                    raise ConfigError(f"{k}: {extra[k]!r} is not a number") from None
                if extra[k] <= 0 and k != "overlap_seconds":
                    raise ConfigError(f"{k}: must be positive")
        if env.get("SMAPPEE_BASE_URL"):
            extra["base_url"] = env["SMAPPEE_BASE_URL"]
        return cls(service_locations=parks, stations=stations, **secrets, **extra)

    @classmethod
    def load(cls, path: str | Path) -> "SmappeeConfig":
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        return cls.from_dict(raw)
