"""Worker settings: one validated object, from flags and ``SUPPORTPULSE_*`` environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.domain.definitions import (
    DEFAULT_BACKLOG_AGE_S,
    DEFAULT_CLOSED_RETENTION_S,
    DEFAULT_MAX_FUTURE_SKEW_S,
    DEFAULT_MAX_QUEUES,
    DEFAULT_ORPHAN_TIMEOUT_S,
    DEFAULT_SOLVED_RETENTION_S,
)
from stream.domain.facts import DEFAULT_FCR_REOPEN_WINDOW_S
from stream.domain.windows import RETENTION_SECONDS


class WorkerSettings(BaseSettings):
    """Everything a worker is configured with. Built once, at start-up, and passed down."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTPULSE_", extra="forbid")

    broker: str = Field("kafka://127.0.0.1:9092", description="kafka://host:port[,host:port]")
    input_topic: str = "support.ticket-events"
    partitions: int = Field(4, ge=1, description="Partitions of topics the worker creates.")
    app_id: str = Field("supportpulse", description="Consumer group and table prefix.")
    web_host: str = Field("127.0.0.1", description="Interface of the HTTP server.")
    web_port: int = Field(6066, ge=1, le=65535)
    clock: Literal["wall", "event"] = "wall"
    policies: str | None = Field(
        None,
        description="SLA policy file (TOML); unset: the shipped deploy/sla/policies.toml; "
        "'none': no SLA clocks.",
    )
    staffing: str | None = Field(
        None,
        description="Staffing file (TOML): Erlang C targets per queue; unset: the shipped "
        "deploy/staffing/staffing.toml.",
    )
    staffing_interval_s: float = Field(
        10.0, gt=0, description="How often a worker publishes its partitions' staffing inputs."
    )
    staffing_stale_after_s: float = Field(
        60.0,
        gt=0,
        description="Staffing inputs of a partition not published for this long are left "
        "out (their worker is gone and nobody owns the partition yet).",
    )
    data_dir: Path = Path("./supportpulse-data")
    fcr_reopen_window_s: float = Field(DEFAULT_FCR_REOPEN_WINDOW_S, gt=0)
    orphan_timeout_s: float = Field(DEFAULT_ORPHAN_TIMEOUT_S, gt=0)
    max_future_skew_s: float = Field(DEFAULT_MAX_FUTURE_SKEW_S, ge=0)
    default_backlog_age_s: float = Field(DEFAULT_BACKLOG_AGE_S, gt=0)
    max_queues: int = Field(DEFAULT_MAX_QUEUES, ge=1)
    closed_retention_s: float = Field(
        DEFAULT_CLOSED_RETENTION_S,
        ge=RETENTION_SECONDS,
        description="Forget closed tickets after this.",
    )
    solved_retention_s: float = Field(
        DEFAULT_SOLVED_RETENTION_S,
        ge=RETENTION_SECONDS,
        description="Forget solved tickets after this.",
    )
    max_message_bytes: int = Field(65536, ge=1024)
    batch_size: int = Field(5000, ge=1, description="Events applied per batch.")
    batch_within_s: float = Field(0.2, gt=0, description="Longest wait to fill a batch.")
    housekeeping_interval_s: float = Field(5.0, gt=0)
    catch_up_lag_s: float = Field(
        60.0,
        gt=0,
        description="A partition reading events older than this while more are waiting is "
        "catching up: its SLA clocks follow its stream time, not the wall clock.",
    )
    deadline_interval_s: float = Field(
        1.0, gt=0, description="How often passed SLA deadlines are turned into breaches."
    )
    purge_interval_s: float = Field(60.0, gt=0, description="How often retention runs.")
    standby_replicas: int = Field(0, ge=0)
    group_instance_id: str | None = Field(
        None,
        description="Static group membership: a restarted worker with the same id "
        "takes its partitions back at once instead of after the session timeout.",
    )
    session_timeout_s: float = Field(10.0, ge=3, description="Consumer group session timeout.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None

    @model_validator(mode="after")
    def _solved_outlives_fcr(self) -> WorkerSettings:
        if self.solved_retention_s <= self.fcr_reopen_window_s:
            raise ValueError("solved_retention_s must exceed fcr_reopen_window_s, or a "
                             "late reopen could not correct FCR")  # fmt: skip
        return self

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if not value.startswith("kafka://") or len(value) <= len("kafka://"):
            raise ValueError("broker must look like kafka://host:port[,host:port]")
        return value

    @property
    def staffing_topic(self) -> str:
        """Where workers publish their partitions' staffing inputs for every worker to read."""
        return f"{self.app_id}-staffing"

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` list for kafka-python clients."""
        return [s.strip() for s in self.broker.removeprefix("kafka://").split(",") if s.strip()]
